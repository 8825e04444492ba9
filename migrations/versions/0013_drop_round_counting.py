"""drop round.counting: nothing read it (the best attempt always counts, DESIGN §3)

Revision ID: 0013_drop_round_counting
Revises: 0012_upload_previews
Create Date: 2026-12-02 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013_drop_round_counting'
down_revision = '0012_upload_previews'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('counting')


def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counting', sa.String(length=16), nullable=False, server_default='best'))
