from flask import Blueprint

bp = Blueprint("reading", __name__)

from . import routes  # noqa: E402,F401
