"""a learner's marks on questions: 收藏 (favourites) and 已掌握 (mastered in 背题模式)

Revision ID: 0017_question_marks
Revises: 0016_integrity_reviews
Create Date: 2026-12-07 04:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017_question_marks'
down_revision = '0016_integrity_reviews'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'question_mark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column(
            'kind',
            sa.Enum('favourite', 'mastered', name='mark_kind', native_enum=False, create_constraint=True,
                    length=16),
            nullable=False,
        ),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_question_mark_question_id_question')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_question_mark_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_question_mark')),
        sa.UniqueConstraint('user_id', 'kind', 'question_id', name=op.f('uq_question_mark_user_id_kind_question_id')),
    )
    with op.batch_alter_table('question_mark', schema=None) as batch_op:
        batch_op.create_index('ix_question_mark_question', ['question_id'], unique=False)


def downgrade():
    with op.batch_alter_table('question_mark', schema=None) as batch_op:
        batch_op.drop_index('ix_question_mark_question')
    op.drop_table('question_mark')
