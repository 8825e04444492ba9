"""Rankings for everyone signed in: unit rankings, individual leaderboards, bulletins, honour roll,
and the big-screen view for the office TV."""

from flask import Blueprint

bp = Blueprint("rankings", __name__)

from . import report_routes, routes  # noqa: E402,F401
