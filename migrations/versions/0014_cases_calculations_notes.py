"""case questions (案例分析), calculation questions (计算题), notes on questions

Revision ID: 0014_cases_calculations_notes
Revises: 0013_drop_round_counting
Create Date: 2026-12-02 19:00:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0014_cases_calculations_notes'
down_revision = '0013_drop_round_counting'
branch_labels = None
depends_on = None

OLD_TYPES = ('single', 'multiple', 'judge', 'fill')
NEW_TYPES = (*OLD_TYPES, 'calc')


def _type(values):
    return sa.Enum(*values, name='question_type', native_enum=False, create_constraint=True, length=16)


def upgrade():
    op.create_table(
        'question_case',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_question_case')),
        sa.UniqueConstraint('content_hash', name=op.f('uq_question_case_content_hash')),
    )
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('case_position', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_question_version_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_question_version_case_id_question_case'), 'question_case', ['case_id'], ['id']
        )
        batch_op.alter_column('type', existing_type=_type(OLD_TYPES), type_=_type(NEW_TYPES))


def downgrade():
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.alter_column('type', existing_type=_type(NEW_TYPES), type_=_type(OLD_TYPES))
        batch_op.drop_constraint(batch_op.f('fk_question_version_case_id_question_case'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_question_version_case_id'))
        batch_op.drop_column('case_position')
        batch_op.drop_column('case_id')
        batch_op.drop_column('note')
    op.drop_table('question_case')
