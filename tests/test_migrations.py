"""Migrations build the whole schema on an empty database, and agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from quizapp import create_app
from quizapp.extensions import db

from .conftest import reset_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def empty_app(app_config):
    app = create_app(app_config)
    with app.app_context():
        reset_database()
        yield app
        db.session.remove()
        reset_database()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_builds_the_schema_the_models_describe(empty_app, backend):
    assert db.engine.dialect.name == backend
    upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert schema_differences() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_removes_everything_and_upgrade_again_works(empty_app, backend):
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert schema_differences() == []
