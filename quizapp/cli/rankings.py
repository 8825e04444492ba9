"""`quizapp rankings`: the live refresh's running totals."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from ..services import period_totals


@click.group("rankings")
def rankings_group() -> None:
    """单位排名。"""


@rankings_group.command("rebuild-totals")
@with_appcontext
def rebuild_totals() -> None:
    """Recompute the live refresh's per-person and per-round totals from the facts (a repair: when
    all is well nothing changes)."""
    outcome = period_totals.rebuild(now=clock.utcnow())
    db.session.commit()
    click.echo(f"已重算：{outcome['people']} 人的本周/本月累计，{outcome['rounds']} 个已结束轮次的单位汇总")
