from flask import Blueprint

bp = Blueprint("learn", __name__)

from . import pwa, routes  # noqa: E402,F401
