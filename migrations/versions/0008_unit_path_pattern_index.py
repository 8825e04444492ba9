"""unit path index usable by prefix LIKE on PostgreSQL

Revision ID: 0008_unit_path_pattern
Revises: 0007_item_analysis
Create Date: 2026-11-21 23:58:00

"""
from alembic import op


revision = '0008_unit_path_pattern'
down_revision = '0007_item_analysis'
branch_labels = None
depends_on = None


def upgrade():
    # Subtree scope is `unit.path LIKE '/1/7/%'`; a plain b-tree serves that only under the C
    # collation, text_pattern_ops under any. SQLite keeps its plain index (its LIKE is not indexed).
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_path')
        batch_op.create_index('ix_unit_path', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'})


def downgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_path')
        batch_op.create_index('ix_unit_path', ['path'], unique=False)
