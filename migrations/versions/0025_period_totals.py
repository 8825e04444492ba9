"""Per-person period totals kept by the day roll-over and the closes (the live refresh reads one row a person)

Revision ID: 0025_period_totals
Revises: 0024_certificates
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0025_period_totals'
down_revision = '0024_certificates'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the work


def downgrade():
    pass
