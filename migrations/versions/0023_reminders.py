"""Reminders (催办): each unit's channel and the deliveries sent

Revision ID: 0023_reminders
Revises: 0022_battles
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0023_reminders'
down_revision = '0022_battles'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the work


def downgrade():
    pass
