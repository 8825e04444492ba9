"""written answers (简答, 情景应答): the types, the public's words, rounds in marking, markers and marking tasks

Revision ID: 0020_written_answers
Revises: 0019_live_contest
Create Date: 2026-12-07 08:10:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0020_written_answers'
down_revision = '0019_live_contest'
branch_labels = None
depends_on = None

OLD_TYPES = ('single', 'multiple', 'judge', 'fill', 'calc')
NEW_TYPES = (*OLD_TYPES, 'short', 'situation')
OLD_STATUSES = ('scheduled', 'open', 'closed')
NEW_STATUSES = ('scheduled', 'open', 'marking', 'closed')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade():
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('says', sa.Text(), nullable=True))
        batch_op.alter_column(
            'type', existing_type=_enum(OLD_TYPES, 'question_type'), type_=_enum(NEW_TYPES, 'question_type')
        )
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marking_gap', sa.Float(), server_default='20', nullable=False))
        batch_op.add_column(sa.Column('third_rule', sa.String(length=8), server_default='closest', nullable=False))
        batch_op.alter_column(
            'status', existing_type=_enum(OLD_STATUSES, 'round_status'), type_=_enum(NEW_STATUSES, 'round_status')
        )
    with op.batch_alter_table('attempt_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mark_final', sa.Float(), nullable=True))
    op.create_table(
        'round_marker',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('own_unit_ok', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_round_marker_round_id_round')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_round_marker_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_marker')),
        sa.UniqueConstraint('round_id', 'user_id', name=op.f('uq_round_marker_round_id_user_id')),
    )
    with op.batch_alter_table('round_marker', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_marker_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_marker_user_id'), ['user_id'], unique=False)
    op.create_table(
        'marking_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('attempt_answer_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('taker_unit_id', sa.Integer(), nullable=False),
        sa.Column('marker_id', sa.Integer(), nullable=True),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('sort_key', sa.Integer(), nullable=False),
        sa.Column('awarded', sa.JSON(), nullable=True),
        sa.Column('deducted', sa.JSON(), nullable=True),
        sa.Column('total', sa.Float(), nullable=True),
        sa.Column('marked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('seq BETWEEN 1 AND 3', name=op.f('ck_marking_task_seq_range')),
        sa.ForeignKeyConstraint(
            ['attempt_answer_id'], ['attempt_answer.id'], name=op.f('fk_marking_task_attempt_answer_id_attempt_answer')
        ),
        sa.ForeignKeyConstraint(['marker_id'], ['user.id'], name=op.f('fk_marking_task_marker_id_user')),
        sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_marking_task_question_id_question')),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_marking_task_round_id_round')),
        sa.ForeignKeyConstraint(['taker_unit_id'], ['unit.id'], name=op.f('fk_marking_task_taker_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_marking_task')),
        sa.UniqueConstraint('attempt_answer_id', 'marker_id', name=op.f('uq_marking_task_attempt_answer_id_marker_id')),
        sa.UniqueConstraint('attempt_answer_id', 'seq', name=op.f('uq_marking_task_attempt_answer_id_seq')),
    )
    with op.batch_alter_table('marking_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marking_task_attempt_answer_id'), ['attempt_answer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_marking_task_marker_id'), ['marker_id'], unique=False)
        batch_op.create_index(
            'ix_marking_task_queue', ['round_id', 'marker_id', 'marked_at', 'question_id', 'sort_key'], unique=False
        )


def downgrade():
    op.drop_table('marking_task')
    op.drop_table('round_marker')
    with op.batch_alter_table('attempt_answer', schema=None) as batch_op:
        batch_op.drop_column('mark_final')
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.alter_column(
            'status', existing_type=_enum(NEW_STATUSES, 'round_status'), type_=_enum(OLD_STATUSES, 'round_status')
        )
        batch_op.drop_column('third_rule')
        batch_op.drop_column('marking_gap')
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.alter_column(
            'type', existing_type=_enum(NEW_TYPES, 'question_type'), type_=_enum(OLD_TYPES, 'question_type')
        )
        batch_op.drop_column('says')
