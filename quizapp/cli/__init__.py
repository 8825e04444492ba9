"""The ``quizapp`` command: Flask's own commands (db, routes, shell) plus thin wrappers over services,
one module per group of commands."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from .. import create_app
from .backup import backup_command, restore_command
from .bank import bank
from .learning import points_group
from .people import org_group, user_group
from .rankings import rankings_group
from .rounds import round_group
from .server import init_command, jobs_group, scheduler_command, serve


@click.group(
    cls=FlaskGroup, create_app=lambda: create_app(), add_version_option=False, help="人社练兵比武平台 quizapp"
)
def main() -> None:
    """The console script: Flask's commands plus the app's own (registered by ``init_app``)."""


def init_app(app) -> None:
    for command in (
        init_command,
        serve,
        scheduler_command,
        jobs_group,
        bank,
        org_group,
        user_group,
        points_group,
        round_group,
        rankings_group,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)
