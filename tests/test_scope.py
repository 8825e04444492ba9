"""The one scope rule: a unit admin sees their own subtree and nothing else."""

from __future__ import annotations

from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Unit, User
from quizapp.services.org import can_manage_user, visible_units, visible_users


def usernames(viewer) -> set[str]:
    return set(db.session.scalars(visible_users(viewer).with_only_columns(User.username)))


def test_unit_admin_sees_only_their_subtree(ctx, org_tree):
    people = org_tree["people"]
    assert usernames(people["city_a_admin"]) == {"aadmin", "astaff"}
    assert usernames(people["city_b_admin"]) == {"badmin", "bstaff"}
    assert usernames(people["province_admin"]) == {"padmin", "aadmin", "badmin", "astaff", "bstaff"}
    assert "root" in usernames(people["admin"])
    assert usernames(people["staff_a"]) == set()


def test_units_in_scope(ctx, org_tree):
    codes = set(
        db.session.scalars(visible_units(org_tree["people"]["city_a_admin"]).with_only_columns(Unit.code))
    )
    assert codes == {"C1", "C1X", "C1X01"}


def test_a_unit_whose_id_shares_a_prefix_is_not_in_scope(ctx, create_unit, create_user):
    """/1/ must not match /12/: the trailing slash of the path keeps siblings apart."""
    units = [create_unit(f"U{i:02d}") for i in range(1, 13)]
    assert units[0].path == f"/{units[0].id}/" and str(units[11].id).startswith(str(units[0].id))
    admin = create_user("u1admin", unit=units[0], role="unit_admin")
    create_user("u12staff", unit=units[11])
    assert usernames(admin) == {"u1admin"}
    assert not can_manage_user(admin, db.session.scalar(select(User.id).where(User.username == "u12staff")))


def test_unit_admin_cannot_read_another_units_staff_over_http(client, auth, org_tree):
    people = org_tree["people"]
    auth.login("aadmin")
    listing = client.get("/admin/staff").get_data(as_text=True)
    assert "甲员工" in listing and "乙员工" not in listing
    assert client.get(f"/admin/staff/{people['staff_a'].id}").status_code == 200
    assert client.get(f"/admin/staff/{people['staff_b'].id}").status_code == 404
    assert client.get(f"/admin/staff/{people['province_admin'].id}").status_code == 404
    # Naming another subtree in the request does not widen the scope.
    assert client.get("/admin/staff", query_string={"unit": "C2"}).status_code == 404
    assert "乙员工" not in client.get("/admin/staff", query_string={"q": "乙"}).get_data(as_text=True)


def test_staff_cannot_open_admin_pages(client, auth, org_tree):
    auth.login("astaff")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/staff").status_code == 403
    assert "无权访问" in client.get("/admin/staff").get_data(as_text=True)


def test_province_admin_filters_down_to_a_city(client, auth, org_tree):
    auth.login("padmin")
    page = client.get("/admin/staff", query_string={"unit": "C2"}).get_data(as_text=True)
    assert "乙员工" in page and "甲员工" not in page
