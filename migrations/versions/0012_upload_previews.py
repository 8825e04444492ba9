"""import previews in the database (any app server confirms them; a sweep removes stale ones)

Revision ID: 0012_upload_previews
Revises: 0011_user_sessions
Create Date: 2026-12-02 17:30:00

"""
import sqlalchemy as sa
from alembic import op

from quizapp.models._types import UTCDateTime

revision = '0012_upload_previews'
down_revision = '0011_user_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'upload_preview',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'], name=op.f('fk_upload_preview_user_id_user'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_preview')),
        sa.UniqueConstraint('token', name=op.f('uq_upload_preview_token')),
    )
    with op.batch_alter_table('upload_preview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_preview_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_preview_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('upload_preview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_preview_user_id'))
        batch_op.drop_index(batch_op.f('ix_upload_preview_created_at'))
    op.drop_table('upload_preview')
