"""Per-person period totals kept by the day roll-over and the closes (the live refresh reads one row a person)

Revision ID: 0025_period_totals
Revises: 0024_certificates
Create Date: 2026-12-07 10:30:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0025_period_totals'
down_revision = '0024_certificates'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'totals_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('folded_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_totals_day')),
    )
    op.create_table(
        'person_period_total',
        sa.Column('period_key', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('sets', sa.Integer(), nullable=False),
        sa.Column('stars', sa.Integer(), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('battles', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'], name=op.f('fk_person_period_total_user_id_user'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('period_key', 'user_id', name=op.f('pk_person_period_total')),
    )
    op.create_index(op.f('ix_person_period_total_user_id'), 'person_period_total', ['user_id'], unique=False)
    op.create_table(
        'person_period_ability',
        sa.Column('period_key', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ability_id', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('right', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'], name=op.f('fk_person_period_ability_user_id_user'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('period_key', 'user_id', 'ability_id', name=op.f('pk_person_period_ability')),
    )
    op.create_index(
        op.f('ix_person_period_ability_user_id'), 'person_period_ability', ['user_id'], unique=False
    )
    op.create_table(
        'totals_round',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('computed_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['round_id'], ['round.id'], name=op.f('fk_totals_round_round_id_round'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('round_id', name=op.f('pk_totals_round')),
    )
    op.create_table(
        'round_unit_total',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('counted', sa.Integer(), nullable=False),
        sa.Column('score_sum', sa.Float(), nullable=False),
        sa.Column('passed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['round_id'], ['round.id'], name=op.f('fk_round_unit_total_round_id_round'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('round_id', 'unit_id', name=op.f('pk_round_unit_total')),
    )
    op.create_table(
        'round_unit_ability',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('ability_id', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('right', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ['round_id'], ['round.id'], name=op.f('fk_round_unit_ability_round_id_round'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('round_id', 'unit_id', 'ability_id', name=op.f('pk_round_unit_ability')),
    )
    op.create_index('ix_learning_item_day', 'learning_item', ['day'], unique=False)
    op.create_index('ix_attempt_submitted', 'attempt', ['submitted_at'], unique=False)


def downgrade():
    op.drop_index('ix_attempt_submitted', table_name='attempt')
    op.drop_index('ix_learning_item_day', table_name='learning_item')
    op.drop_table('round_unit_ability')
    op.drop_table('round_unit_total')
    op.drop_table('totals_round')
    op.drop_index(op.f('ix_person_period_ability_user_id'), table_name='person_period_ability')
    op.drop_table('person_period_ability')
    op.drop_index(op.f('ix_person_period_total_user_id'), table_name='person_period_total')
    op.drop_table('person_period_total')
    op.drop_table('totals_day')
