"""Rounds for takers: the list, a round's page, the attempt page and the results."""

from flask import Blueprint

bp = Blueprint("rounds", __name__)

from . import routes  # noqa: E402,F401
