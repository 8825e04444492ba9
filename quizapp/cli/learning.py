"""`quizapp points`: recount the points ledger."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..services import accounts, points, rules
from ..services.errors import DomainError
from .common import fail


@click.group("points")
def points_group() -> None:
    """积分账本。"""


@points_group.command("recount")
@click.option("--user", "username", help="只核对这一个人（默认全部）")
@with_appcontext
def points_recount(username: str | None) -> None:
    """Recompute every learner's points from their answers and compare with the ledger."""
    try:
        users = [accounts.get_user(username)] if username else accounts.list_users()
    except DomainError as error:
        fail(error)
    learning = rules.current()
    differences = 0
    for user in users:
        expected, recorded = points.recount(user.id, learning), points.ledger(user.id)
        for key in sorted(set(expected) | set(recorded)):
            if expected.get(key, 0) != recorded.get(key, 0):
                differences += 1
                day, rule = key
                click.echo(
                    f"  ✗ {user.username} {day} {rule}: 账本 {recorded.get(key, 0)}，应为 {expected.get(key, 0)}"
                )
    click.echo(
        f"核对 {len(users)} 人：" + (f"{differences} 处不一致" if differences else "积分账本与答题记录一致")
    )
    if differences:
        sys.exit(1)
