"""snapshot rows keep accuracy by ability (answers and the sum of the fractions right, per ability)

Revision ID: 0021_snapshot_abilities
Revises: 0020_written_answers
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021_snapshot_abilities'
down_revision = '0020_written_answers'
branch_labels = None
depends_on = None

# Rows written before have NULL: their abilities read as unknown (—) until the snapshot is rewritten.


def upgrade():
    with op.batch_alter_table('snapshot_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('abilities', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('snapshot_row', schema=None) as batch_op:
        batch_op.drop_column('abilities')
