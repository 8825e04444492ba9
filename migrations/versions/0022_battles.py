"""对战 (battles): battles, their seats and answers, and the waiting queue

Revision ID: 0022_battles
Revises: 0021_snapshot_abilities
Create Date: 2026-12-07 08:20:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0022_battles'
down_revision = '0021_snapshot_abilities'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'battle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('challenge', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('question_version_ids', sa.JSON(), nullable=False),
        sa.Column('question_seconds', sa.Integer(), nullable=False),
        sa.Column('reveal_seconds', sa.Integer(), nullable=False),
        sa.Column('lead_seconds', sa.Integer(), nullable=False),
        sa.Column('machine_plan', sa.JSON(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("mode IN ('duel', 'four', 'machine')", name=op.f('ck_battle_battle_mode')),
        sa.CheckConstraint(
            "status IN ('invited', 'running', 'finished', 'declined')", name=op.f('ck_battle_battle_status')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_battle')),
    )
    op.create_index('ix_battle_status_started', 'battle', ['status', 'started_at'], unique=False)
    op.create_table(
        'battle_player',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('battle_id', sa.Integer(), nullable=False),
        sa.Column('seat', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('accepted', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('forfeited_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('right', sa.Integer(), nullable=True),
        sa.Column('place', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=5), nullable=True),
        sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('signals', sa.JSON(), nullable=True),
        sa.Column('clients', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['battle_id'], ['battle.id'], name=op.f('fk_battle_player_battle_id_battle')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_battle_player_unit_id_unit')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_battle_player_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_battle_player')),
        sa.UniqueConstraint('battle_id', 'seat', name=op.f('uq_battle_player_battle_id_seat')),
        sa.UniqueConstraint('battle_id', 'user_id', name=op.f('uq_battle_player_battle_id_user_id')),
    )
    op.create_index('ix_battle_player_user', 'battle_player', ['user_id', 'battle_id'], unique=False)
    op.create_index(op.f('ix_battle_player_unit_id'), 'battle_player', ['unit_id'], unique=False)
    op.create_table(
        'battle_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('battle_id', sa.Integer(), nullable=False),
        sa.Column('player_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('correct', sa.Boolean(), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['battle_id'], ['battle.id'], name=op.f('fk_battle_answer_battle_id_battle')),
        sa.ForeignKeyConstraint(['player_id'], ['battle_player.id'], name=op.f('fk_battle_answer_player_id_battle_player')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_battle_answer')),
        sa.UniqueConstraint('player_id', 'position', name=op.f('uq_battle_answer_player_id_position')),
    )
    op.create_index(op.f('ix_battle_answer_battle_id'), 'battle_answer', ['battle_id'], unique=False)
    op.create_table(
        'battle_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('province_id', sa.Integer(), nullable=True),
        sa.Column('joined_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('battle_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['battle_id'], ['battle.id'], name=op.f('fk_battle_queue_battle_id_battle')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_battle_queue_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_battle_queue')),
        sa.UniqueConstraint('user_id', name=op.f('uq_battle_queue_user_id')),
    )
    op.create_index('ix_battle_queue_match', 'battle_queue', ['mode', 'province_id', 'joined_at'], unique=False)


def downgrade():
    op.drop_table('battle_queue')
    op.drop_table('battle_answer')
    op.drop_table('battle_player')
    op.drop_table('battle')
