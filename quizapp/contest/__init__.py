"""现场比武 (the live contest): host console, big screen, phones as buzzers, server-sent events."""

from flask import Blueprint

bp = Blueprint("contest", __name__)

from . import routes  # noqa: E402,F401
