"""questions without a source (无出处): units' own banks imported from Word or Moodle rarely carry a
source document, an article and a quote; their versions keep source_id empty (locator and quote are
empty strings) until an admin adds one

Revision ID: 0018_unsourced_questions
Revises: 0017_question_marks
Create Date: 2026-12-07 04:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018_unsourced_questions"
down_revision = "0017_question_marks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("question_version", schema=None) as batch_op:
        batch_op.alter_column("source_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Fails while a version without a source exists: give those a source (or retire and delete them) first.
    with op.batch_alter_table("question_version", schema=None) as batch_op:
        batch_op.alter_column("source_id", existing_type=sa.Integer(), nullable=False)
