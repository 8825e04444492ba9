"""Reminders (催办): each unit's channel and the deliveries sent

Revision ID: 0023_reminders
Revises: 0022_battles
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0023_reminders'
down_revision = '0022_battles'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder_channel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('webhook_encrypted', sa.Text(), nullable=True),
        sa.Column('webhook_host', sa.String(length=255), nullable=True),
        sa.Column('secret_encrypted', sa.Text(), nullable=True),
        sa.Column('recipients', sa.Text(), nullable=True),
        sa.Column('name_people', sa.Boolean(), nullable=False),
        sa.Column('last_manual_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('log', 'wecom', 'dingtalk', 'email')", name=op.f('ck_reminder_channel_kind')
        ),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_reminder_channel_unit_id_unit')),
        sa.ForeignKeyConstraint(
            ['updated_by_id'], ['user.id'], name=op.f('fk_reminder_channel_updated_by_id_user')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_channel')),
        sa.UniqueConstraint('unit_id', name=op.f('uq_reminder_channel_unit_id')),
    )
    op.create_table(
        'reminder_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('sweep_day', sa.Date(), nullable=True),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('response_code', sa.Integer(), nullable=True),
        sa.Column('response_excerpt', sa.String(length=500), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('sweep', 'manual')", name=op.f('ck_reminder_delivery_kind')),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'gave_up', 'skipped')",
            name=op.f('ck_reminder_delivery_status'),
        ),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_reminder_delivery_unit_id_unit')),
        sa.ForeignKeyConstraint(
            ['requested_by_id'], ['user.id'], name=op.f('fk_reminder_delivery_requested_by_id_user')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_delivery')),
        sa.UniqueConstraint('unit_id', 'sweep_day', name=op.f('uq_reminder_delivery_unit_id_sweep_day')),
    )
    op.create_index('ix_reminder_delivery_retry', 'reminder_delivery', ['status', 'next_try_at'], unique=False)
    op.create_index(
        'ix_reminder_delivery_unit_created', 'reminder_delivery', ['unit_id', 'created_at'], unique=False
    )


def downgrade():
    op.drop_index('ix_reminder_delivery_unit_created', table_name='reminder_delivery')
    op.drop_index('ix_reminder_delivery_retry', table_name='reminder_delivery')
    op.drop_table('reminder_delivery')
    op.drop_table('reminder_channel')
