"""What the command modules share."""

from __future__ import annotations

import click

from ..extensions import db
from ..services.errors import DomainError, InvalidInput


def fail(error: DomainError) -> None:
    """End a command with the rule that refused it (every problem of an import listed)."""
    db.session.rollback()
    if isinstance(error, InvalidInput):
        for problem in error.problems:
            click.echo(f"  ✗ {problem}", err=True)
    raise click.ClickException(error.message)
