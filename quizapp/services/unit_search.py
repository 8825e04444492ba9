"""Finding units by name for the admin's unit picker: a few matches at a time within the viewer's
scope, each with the names of the units above it, so nobody has to know a unit's code."""

from __future__ import annotations

from sqlalchemy import case, or_, select

from ..extensions import db
from ..models import Unit, User
from .org import visible_units

SEARCH_LIMIT = 20


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_units(viewer: User, text: str, *, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Active units in ``viewer``'s scope whose name contains ``text`` or whose code starts with it,
    the shallowest first (a city before its windows); with no text, the top of the scope. Two
    queries whatever the size of the tree: the matches, then the names on their paths."""
    text = " ".join(text.split())[:50]
    stmt = visible_units(viewer).where(Unit.active)
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            or_(Unit.name.like(f"%{pattern}%", escape="\\"), Unit.code.like(f"{pattern}%", escape="\\"))
        ).order_by(case((Unit.code == text, 0), else_=1), Unit.level, Unit.code)
    else:
        stmt = stmt.order_by(Unit.level, Unit.code)
    return describe(db.session.scalars(stmt.limit(limit)).all())


def chosen_units(viewer: User, codes: list[str]) -> list[dict]:
    """The units already chosen in a form, in the order given; a code out of scope or unknown is
    kept as it was typed (the form's own validation says what is wrong with it)."""
    if not codes:
        return []
    found = {
        unit.code: unit for unit in db.session.scalars(visible_units(viewer).where(Unit.code.in_(codes)))
    }
    described = {entry["code"]: entry for entry in describe(list(found.values()))}
    return [described.get(code, {"code": code, "name": code, "path": "", "level": ""}) for code in codes]


def describe(units: list[Unit]) -> list[dict]:
    """Each unit as the picker shows it: code, name, level and the names of the units above it."""
    above = {ancestor for unit in units for ancestor in unit.path_ids()[:-1]}
    names = (
        dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(above))).all()) if above else {}
    )
    return [
        {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level_name,
            "path": " › ".join(names[ancestor] for ancestor in unit.path_ids()[:-1] if ancestor in names),
        }
        for unit in units
    ]
