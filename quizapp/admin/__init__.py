from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    bank_routes,
    integrity_routes,
    marking_routes,
    ops_routes,
    org_routes,
    reminder_routes,
    report_routes,
    round_routes,
    routes,
    unit_routes,
)
