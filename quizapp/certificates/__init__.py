"""Certificates (人人持证): a person's own, the public verification page, and the managers' list,
bulk download and revocation."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)

from . import routes  # noqa: E402,F401
