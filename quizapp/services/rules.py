"""The configurable learning rules, read once per call from the app's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app


@dataclass(frozen=True)
class LearningRules:
    tz: ZoneInfo
    daily_size: int
    daily_max_mistakes: int
    points: dict[str, int]
    point_groups: dict[str, str]
    point_caps: dict[str, int]
    multiple_partial: float
    review_days: tuple[int, ...]
    clear_streak: int

    def group_rules(self, rule: str) -> list[str]:
        group = self.point_groups[rule]
        return [name for name, other in self.point_groups.items() if other == group]

    def cap_for(self, rule: str) -> int | None:
        return self.point_caps.get(self.point_groups[rule])


def current() -> LearningRules:
    config = current_app.config
    return LearningRules(
        tz=config["TZINFO"],
        daily_size=config["DAILY_SET_SIZE"],
        daily_max_mistakes=config["DAILY_MAX_MISTAKES"],
        points=dict(config["POINTS"]),
        point_groups=dict(config["POINT_GROUPS"]),
        point_caps=dict(config["POINT_CAPS"]),
        multiple_partial=config["MULTIPLE_PARTIAL_CREDIT"],
        review_days=tuple(config["MISTAKE_REVIEW_DAYS"]),
        clear_streak=config["MISTAKE_CLEAR_STREAK"],
    )
