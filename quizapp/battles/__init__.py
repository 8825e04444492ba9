from flask import Blueprint

bp = Blueprint("battles", __name__)

from . import routes  # noqa: E402,F401
