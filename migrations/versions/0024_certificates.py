"""Certificates (人人持证): one per passed exam, with its serial and revocation

Revision ID: 0024_certificates
Revises: 0023_reminders
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0024_certificates'
down_revision = '0023_reminders'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certificate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=32), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=False),
        sa.Column('holder_name', sa.String(length=100), nullable=False),
        sa.Column('unit_name', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('percent', sa.Float(), nullable=False),
        sa.Column('band', sa.String(length=16), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('issued_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_reason', sa.Text(), nullable=True),
        sa.CheckConstraint(
            "band IN ('excellent', 'good', 'pass')", name=op.f('ck_certificate_score_band')
        ),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_certificate_attempt_id_attempt')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_certificate_revoked_by_id_user')),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_certificate_round_id_round')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_certificate_unit_id_unit')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_certificate_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
        sa.UniqueConstraint('round_id', 'user_id', name=op.f('uq_certificate_round_id_user_id')),
        sa.UniqueConstraint('serial', name=op.f('uq_certificate_serial')),
    )
    op.create_index('ix_certificate_round_unit', 'certificate', ['round_id', 'unit_id'], unique=False)
    op.create_index('ix_certificate_user', 'certificate', ['user_id', 'issued_at'], unique=False)


def downgrade():
    op.drop_index('ix_certificate_user', table_name='certificate')
    op.drop_index('ix_certificate_round_unit', table_name='certificate')
    op.drop_table('certificate')
