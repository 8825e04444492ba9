"""Admin: the unit picker's search (units by name, within the viewer's scope) and what the picker
shows for the units a form already holds."""

import json

from flask import jsonify, request, url_for
from flask_login import current_user

from ..services import unit_search
from . import bp
from .round_routes import target_codes
from .routes import managers_only


@bp.route("/units/search")
@managers_only
def unit_search_json():
    return jsonify(units=unit_search.search_units(current_user, request.args.get("q", "")))


@bp.app_template_global()
def unit_picker(codes: str | None, mode: str = "one") -> dict:
    """The attributes that make a unit-code input a unit picker (static/js/unit_picker.js): ``mode``
    one or many, where to search, and the units it starts with (codes as typed)."""
    return {
        "data-unit-picker": mode,
        "data-search-url": url_for("admin.unit_search_json"),
        "data-chosen": json.dumps(
            unit_search.chosen_units(current_user, target_codes(codes or "")), ensure_ascii=False
        ),
    }
