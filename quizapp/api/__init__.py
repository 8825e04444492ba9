"""The JSON API under /api/v1: session cookie + X-CSRFToken, errors as {"error": {"code", "message"}}."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import routes  # noqa: E402,F401
