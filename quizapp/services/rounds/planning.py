"""Planning rounds from the schedule templates: the coming weekly and monthly rounds, each period
once, and the templates themselves."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import clock
from ...extensions import db
from ...models import Round, RoundTemplate, Unit
from .. import audit
from ..errors import DomainError
from .manage import create_round
from .papers import require_pool
from .settings import RoundSettings, validate

# What a template shares with a round: the round's own parameters, apart from its window and title.
TEMPLATE_VALUES = (
    "time_limit_minutes",
    "attempts_allowed",
    "pass_mark",
    "show_answers",
    "grace_seconds",
    "paper_mode",
)
TEMPLATE_FIELDS = (
    "enabled",
    "open_day",
    "open_time",
    "close_day",
    "close_time",
    "plan_ahead_days",
    *TEMPLATE_VALUES,
)


def plan_rounds(now: datetime) -> dict:
    """Create the coming weekly and monthly rounds from the enabled templates, each period once:
    this period's and the next one's round, when it opens within ``plan_ahead_days`` (or is open
    now) and its plan key is not taken. The unique plan key makes a second or concurrent run a
    no-op."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    created, problems = 0, []
    for template in db.session.scalars(select(RoundTemplate).where(RoundTemplate.enabled.is_(True))):
        step = timedelta(days=7) if template.kind == "weekly" else timedelta(days=31)
        this_period = today if template.kind == "weekly" else today.replace(day=1)
        for day in (this_period, this_period + step):
            settings, period = RoundSettings.from_template(template, day, tz)
            if period.closes_at <= now or period.opens_at > now + timedelta(days=template.plan_ahead_days):
                continue
            if db.session.scalar(select(Round.id).where(Round.plan_key == period.plan_key)) is not None:
                continue
            try:
                with db.session.begin_nested():
                    round_ = create_round(settings, actor_id=None)
                    round_.plan_key = period.plan_key
                    db.session.flush()
                created += 1
            except IntegrityError:
                continue  # planned by a concurrent run
            except DomainError as error:
                problems.append(f"{period.plan_key}: {error.message}")
    return {"created": created, "problems": problems} if problems else {"created": created}


def template_for(kind: str) -> RoundTemplate:
    """The kind's template, or an unsaved one filled with the defaults (disabled until saved)."""
    template = db.session.scalar(select(RoundTemplate).where(RoundTemplate.kind == kind))
    if template is not None:
        return template
    tz = current_app.config["TZINFO"]
    codes = list(db.session.scalars(select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    defaults = RoundSettings.from_defaults(kind, clock.business_date(clock.utcnow(), tz), tz, codes)
    weekly = kind == "weekly"
    return RoundTemplate(
        kind=kind,
        enabled=False,
        open_day=0 if weekly else current_app.config["MONTHLY_OPEN_DAYS"],
        open_time="00:00",
        close_day=6 if weekly else 0,
        close_time="23:59",
        plan_ahead_days=7,
        **{name: getattr(defaults, name) for name in (*TEMPLATE_VALUES, "target_codes", "blueprint")},
    )


def save_template(
    kind: str, values: dict, target_codes: list[str], blueprint: list[dict], *, actor_id: int | None
) -> RoundTemplate:
    """Save the kind's schedule template after the same checks a round gets."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(clock.utcnow(), tz)
    _, cleaned = validate(  # the checks a round gets, on this period's round of the template
        RoundSettings.from_defaults(kind, today, tz, target_codes).but(
            blueprint=blueprint, **{name: values[name] for name in TEMPLATE_VALUES}
        )
    )
    require_pool(cleaned, kind, values["paper_mode"])
    template = template_for(kind)
    for field in TEMPLATE_FIELDS:
        setattr(template, field, values[field])
    template.target_codes, template.blueprint = target_codes, cleaned
    db.session.add(template)
    db.session.flush()
    audit.record(
        "schedule.update",
        "round_template",
        template.id,
        actor_id=actor_id,
        after={"kind": kind, "enabled": template.enabled, "targets": target_codes},
    )
    return template
