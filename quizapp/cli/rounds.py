"""`quizapp round`: create, list, show, close and repair rounds."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..models import Attempt, Round, Unit
from ..services import rounds as round_service
from ..services.errors import DomainError
from .common import fail


@click.group("round")
def round_group() -> None:
    """周周练、月月比、专项考试。"""


def _round_json(round_) -> dict:
    return {
        "id": round_.id,
        "kind": str(round_.kind),
        "title": round_.title,
        "status": str(round_.status),
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
        "time_limit_minutes": round_.time_limit_seconds // 60,
        "attempts_allowed": round_.attempts_allowed,
        "pass_mark": round_.pass_mark,
        "show_answers": str(round_.show_answers),
        "grace_seconds": round_.grace_seconds,
        "questions": round_.question_count,
        "blueprint": round_.blueprint,
        "paper_mode": str(round_.paper_mode),
        "targets": [target.unit.code for target in round_.targets],
        "paper_drawn": round_.paper_drawn_at is not None,
    }


def _parse_local(value: str | None, tz):
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=tz)
    except ValueError:
        raise click.BadParameter(f"时间格式应为 2026-03-02T09:00，实际为 {value!r}") from None


@round_group.command("create")
@click.option("--kind", type=click.Choice(["weekly", "monthly", "exam"]), required=True)
@click.option("--title")
@click.option("--opens", help="开始时间（业务时区），如 2026-03-02T09:00；默认按类型")
@click.option("--closes", help="结束时间（业务时区）")
@click.option("--target", "targets", multiple=True, help="参加单位编码，可重复；默认全部顶级单位")
@click.option("--time-limit", type=int, help="答题时限（分钟）")
@click.option("--attempts", type=int, help="可作答次数")
@click.option("--pass-mark", type=float, help="及格线（百分制）")
@click.option("--show-answers", type=click.Choice(["after_attempt", "after_close"]))
@click.option("--blueprint", help='试卷结构 JSON，如 [{"type": "single", "count": 20}]')
@click.option("--paper-mode", type=click.Choice(["shared", "drawn"]), help="统一试卷 shared，随机组卷 drawn")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_create(
    kind,
    title,
    opens,
    closes,
    targets,
    time_limit,
    attempts,
    pass_mark,
    show_answers,
    blueprint,
    paper_mode,
    as_json,
):
    """Create a round from the kind's defaults, overriding what is given."""
    tz = current_app.config["TZINFO"]
    codes = list(targets) or list(db.session.scalars(select(Unit.code).where(Unit.parent_id.is_(None))))
    try:
        rows = json.loads(blueprint) if blueprint else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"--blueprint 不是有效的 JSON：{error}") from None
    today = clock.business_date(clock.utcnow(), tz)
    settings = round_service.RoundSettings.from_defaults(kind, today, tz, codes).but(
        title=title,
        opens_at=_parse_local(opens, tz),
        closes_at=_parse_local(closes, tz),
        time_limit_minutes=time_limit,
        attempts_allowed=attempts,
        pass_mark=pass_mark,
        show_answers=show_answers,
        blueprint=rows,
        paper_mode=paper_mode,
    )
    try:
        round_ = round_service.create_round(settings, actor_id=None)
    except DomainError as error:
        fail(error)
    notes = round_service.check_blueprint(round_.blueprint, round_.kind, round_.paper_mode)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(_round_json(round_) | {"warnings": notes}, ensure_ascii=False, indent=2))
        return
    click.echo(f"已创建 #{round_.id} {round_.title}（{round_.kind.label}）")
    for note in notes:
        click.echo(f"  ! {note}", err=True)


@round_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_list(as_json: bool) -> None:
    rounds = db.session.scalars(select(Round).order_by(Round.opens_at.desc())).all()
    if as_json:
        click.echo(json.dumps([_round_json(r) for r in rounds], ensure_ascii=False, indent=2))
        return
    tz = current_app.config["TZINFO"]
    for r in rounds:
        click.echo(
            f"#{r.id:<5}{r.kind.label:<6}{r.status.label:<5} {r.opens_at.astimezone(tz):%m-%d %H:%M} — "
            f"{r.closes_at.astimezone(tz):%m-%d %H:%M}  {r.title}"
        )
    click.echo(f"共 {len(rounds)} 轮")


@round_group.command("show")
@click.argument("round_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_show(round_id: int, as_json: bool) -> None:
    try:
        round_ = round_service.get_round(round_id)
    except DomainError as error:
        fail(error)
    data = _round_json(round_)
    data["attempts"] = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))
    data["participants"] = db.session.scalar(
        select(func.count(func.distinct(Attempt.user_id))).where(Attempt.round_id == round_id)
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:<20}{value}")


@round_group.command("close")
@click.argument("round_id", type=int)
@with_appcontext
def round_close(round_id: int) -> None:
    """Close a round whose time is up: auto-submit, grade, rank, official snapshot, bulletin, item
    analysis (the scheduler does the same on its own)."""
    try:
        outcome = round_service.close_round(round_id, now=clock.utcnow())
    except DomainError as error:
        fail(error)
    db.session.commit()
    click.echo(
        "已结束：已评分排名，并生成正式排名、通报和试题分析"
        if outcome["closed"]
        else f"未结束：{outcome['reason']}"
    )


@round_group.command("repair")
@with_appcontext
def round_repair() -> None:
    """Give rounds closed before closing was one operation their missing official snapshot,
    bulletin and item analysis (run once after upgrading; running it again finds nothing)."""
    repaired = round_service.repair_closed_rounds(now=clock.utcnow())
    db.session.commit()
    click.echo(
        f"已补全 {len(repaired)} 轮：{'、'.join(f'#{i}' for i in repaired)}" if repaired else "无需补全"
    )
