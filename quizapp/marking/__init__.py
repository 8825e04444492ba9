"""阅卷: a marker's rounds and the next answer to mark, one at a time. The rules are in
services/written."""

from flask import Blueprint

bp = Blueprint("marking", __name__)

from . import routes  # noqa: E402,F401
