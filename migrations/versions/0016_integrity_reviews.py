"""integrity signals and reviews: the first save of each answer, each version's reading length, an
attempt's and a day's integrity score, hold flag and clients, the page's focus reports, and the
review of what scored above zero; exposure is counted from the papers themselves (no hot counter
rows for a start to lock)

Revision ID: 0016_integrity_reviews
Revises: 0015_papers_per_taker_reserve
Create Date: 2026-12-07 02:00:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0016_integrity_reviews'
down_revision = '0015_papers_per_taker_reserve'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reading_chars', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('attempt_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_saved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gap_seconds', sa.Float(), nullable=True))
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('integrity_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('clients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('focus', sa.JSON(), nullable=True))
    with op.batch_alter_table('daily_set', schema=None) as batch_op:
        batch_op.add_column(sa.Column('integrity_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('clients', sa.JSON(), nullable=True))
    op.create_table(
        'integrity_review',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.Integer(), nullable=True),
        sa.Column('daily_set_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('signals', sa.JSON(), nullable=False),
        sa.Column(
            'status',
            sa.Enum('flagged', 'held', 'cleared', 'voided', name='review_status', native_enum=False,
                    create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.CheckConstraint('(attempt_id IS NULL) <> (daily_set_id IS NULL)', name=op.f('ck_integrity_review_one_subject')),
        sa.ForeignKeyConstraint(['attempt_id'], ['attempt.id'], name=op.f('fk_integrity_review_attempt_id_attempt')),
        sa.ForeignKeyConstraint(['daily_set_id'], ['daily_set.id'], name=op.f('fk_integrity_review_daily_set_id_daily_set')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_integrity_review_decided_by_id_user')),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_integrity_review_round_id_round')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_integrity_review_unit_id_unit')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_integrity_review_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_review')),
        sa.UniqueConstraint('attempt_id', name=op.f('uq_integrity_review_attempt_id')),
        sa.UniqueConstraint('daily_set_id', name=op.f('uq_integrity_review_daily_set_id')),
    )
    with op.batch_alter_table('integrity_review', schema=None) as batch_op:
        batch_op.create_index('ix_integrity_review_status_unit', ['status', 'unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_review_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_review_user_id'), ['user_id'], unique=False)

    op.drop_table('paper_exposure')

    # Answers saved before: their first save is unknown, the last one stands in. Attempts and days
    # finished before count as assessed and clean (nothing was recorded to judge them by).
    op.execute("UPDATE attempt_answer SET first_saved_at = saved_at")
    op.execute("UPDATE attempt SET integrity_score = 0 WHERE status <> 'in_progress'")
    op.execute("UPDATE daily_set SET integrity_score = 0 WHERE finished_at IS NOT NULL")
    connection = op.get_bind()
    versions = sa.table(
        'question_version', sa.column('id'), sa.column('stem'), sa.column('options'), sa.column('reading_chars')
    )
    rows = connection.execute(sa.select(versions.c.id, versions.c.stem, versions.c.options)).all()
    for version_id, stem, options in rows:
        if isinstance(options, str):
            options = json.loads(options)
        chars = len(stem or '') + sum(len(str(o.get('text', ''))) for o in options or [])
        connection.execute(versions.update().where(versions.c.id == version_id).values(reading_chars=chars))


def downgrade():
    op.create_table(
        'paper_exposure',
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('papers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_paper_exposure_question_id_question')),
        sa.ForeignKeyConstraint(['round_id'], ['round.id'], name=op.f('fk_paper_exposure_round_id_round')),
        sa.PrimaryKeyConstraint('round_id', 'question_id', name=op.f('pk_paper_exposure')),
    )
    op.execute(
        "INSERT INTO paper_exposure (round_id, question_id, papers) SELECT round_id, question_id, count(*) "
        "FROM paper_question WHERE attempt_id IS NOT NULL GROUP BY round_id, question_id"
    )
    with op.batch_alter_table('integrity_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_review_user_id'))
        batch_op.drop_index(batch_op.f('ix_integrity_review_round_id'))
        batch_op.drop_index('ix_integrity_review_status_unit')
    op.drop_table('integrity_review')
    with op.batch_alter_table('daily_set', schema=None) as batch_op:
        batch_op.drop_column('clients')
        batch_op.drop_column('held')
        batch_op.drop_column('integrity_score')
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_column('focus')
        batch_op.drop_column('clients')
        batch_op.drop_column('held')
        batch_op.drop_column('integrity_score')
    with op.batch_alter_table('attempt_answer', schema=None) as batch_op:
        batch_op.drop_column('gap_seconds')
        batch_op.drop_column('first_saved_at')
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.drop_column('reading_chars')
