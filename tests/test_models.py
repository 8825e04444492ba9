"""Database constraints that keep the bank and the organisation consistent, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quizapp.extensions import db
from quizapp.models import Question, QuestionVersion, Source, User
from quizapp.services import bank_io
from quizapp.services.org import visible_users

from .conftest import ROOT

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def one_question() -> QuestionVersion:
    bank_io.import_batch(
        bank_io.read_for_import(
            [ROOT / "question_bank" / "law_social_insurance.yaml"], ROOT / "question_bank"
        )
    )
    db.session.commit()
    return db.session.scalar(select(QuestionVersion).order_by(QuestionVersion.id).limit(1))


def copy_of(version: QuestionVersion, **changes) -> QuestionVersion:
    columns = {c.key: getattr(version, c.key) for c in QuestionVersion.__table__.columns if c.key != "id"}
    return QuestionVersion(**(columns | changes))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_question_has_at_most_one_current_version(ctx, backend):
    version = one_question()
    db.session.add(copy_of(version, number=2, content_hash="x" * 64))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_current_questions_cannot_share_a_content_hash(ctx, backend):
    version = one_question()
    other = Question()
    db.session.add(other)
    db.session.flush()
    db.session.add(copy_of(version, question_id=other.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_old_version_may_repeat_content(ctx, backend):
    version = one_question()
    version.is_current = False
    db.session.flush()
    db.session.add(copy_of(version, number=2, is_current=True))
    db.session.flush()
    assert (
        db.session.scalar(select(func.count()).where(QuestionVersion.question_id == version.question_id)) == 2
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_difficulty_and_type_are_checked_by_the_database(ctx, backend):
    version = one_question()
    for change in ({"difficulty": 4}, {"type": "essay"}):
        with pytest.raises(IntegrityError):
            db.session.execute(
                QuestionVersion.__table__.update().where(QuestionVersion.id == version.id).values(**change)
            )
        db.session.rollback()


@pytest.mark.parametrize("backend", BACKENDS)
def test_staff_must_belong_to_a_unit(ctx, backend):
    db.session.add(User(username="nounit", name="无单位", password_hash="x", role="staff"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.postgres
def test_shipped_bank_and_scope_on_postgresql(ctx, org_tree):
    first = bank_io.load_shipped_banks(ROOT / "question_bank")
    db.session.commit()
    again = bank_io.load_shipped_banks(ROOT / "question_bank")
    assert first.added >= 400 and again.added == 0
    assert db.session.scalar(select(func.count(Source.id))) >= 10
    viewer = org_tree["people"]["city_a_admin"]
    assert set(db.session.scalars(visible_users(viewer).with_only_columns(User.username))) == {
        "aadmin",
        "astaff",
    }
