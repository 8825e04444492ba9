"""Certificates (人人持证): one per passed exam, with its serial and revocation

Revision ID: 0024_certificates
Revises: 0023_reminders
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0024_certificates'
down_revision = '0023_reminders'
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the work


def downgrade():
    pass
