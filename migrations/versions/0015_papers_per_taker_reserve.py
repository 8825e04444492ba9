"""papers per taker (随机组卷、一人一卷): a paper of its own per attempt, exposure counts, the round's
paper mode; the reserve pool (考试专用)

Revision ID: 0015_papers_per_taker_reserve
Revises: 0014_cases_calculations_notes
Create Date: 2026-12-06 23:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015_papers_per_taker_reserve'
down_revision = '0014_cases_calculations_notes'
branch_labels = None
depends_on = None


def _mode(name):
    return sa.Enum('shared', 'drawn', name=name, native_enum=False, create_constraint=True, length=16)


def upgrade():
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper_mode', _mode('paper_mode'), server_default='shared', nullable=False))
    with op.batch_alter_table('round_template', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('paper_mode', _mode('template_paper_mode'), server_default='shared', nullable=False)
        )
    with op.batch_alter_table('paper_question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_paper_question_attempt_id_attempt'), 'attempt', ['attempt_id'], ['id']
        )
        batch_op.drop_constraint(batch_op.f('uq_paper_question_round_id_position'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_paper_question_round_id_question_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_paper_question_attempt_id_position'), ['attempt_id', 'position']
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_paper_question_attempt_id_question_id'), ['attempt_id', 'question_id']
        )
        batch_op.create_index(batch_op.f('ix_paper_question_round_id'), ['round_id'], unique=False)
    shared = sa.text('attempt_id IS NULL')
    op.create_index(
        'uq_paper_question_shared_position', 'paper_question', ['round_id', 'position'], unique=True,
        sqlite_where=shared, postgresql_where=shared,
    )
    op.create_index(
        'uq_paper_question_shared_question', 'paper_question', ['round_id', 'question_id'], unique=True,
        sqlite_where=shared, postgresql_where=shared,
    )
    op.create_table(
        'paper_exposure',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('papers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_paper_exposure_question_id_question')),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_paper_exposure_round_id_round')),
        sa.PrimaryKeyConstraint('round_id', 'question_id', name=op.f('pk_paper_exposure')),
    )


def downgrade():
    op.drop_table('paper_exposure')
    op.drop_index('uq_paper_question_shared_question', table_name='paper_question')
    op.drop_index('uq_paper_question_shared_position', table_name='paper_question')
    op.execute("DELETE FROM paper_question WHERE attempt_id IS NOT NULL")
    with op.batch_alter_table('paper_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_question_round_id'))
        batch_op.drop_constraint(batch_op.f('uq_paper_question_attempt_id_question_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_paper_question_attempt_id_position'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_paper_question_round_id_question_id'), ['round_id', 'question_id']
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_paper_question_round_id_position'), ['round_id', 'position']
        )
        batch_op.drop_constraint(batch_op.f('fk_paper_question_attempt_id_attempt'), type_='foreignkey')
        batch_op.drop_column('attempt_id')
    with op.batch_alter_table('round_template', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_round_template_template_paper_mode'), type_='check')
        batch_op.drop_column('paper_mode')
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_round_paper_mode'), type_='check')
        batch_op.drop_column('paper_mode')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('reserved')
