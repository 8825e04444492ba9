"""index every column that refers to a user

Revision ID: 0009_user_reference_indexes
Revises: 0008_unit_path_pattern
Create Date: 2026-11-22 00:45:00

"""
from alembic import op


revision = '0009_user_reference_indexes'
down_revision = '0008_unit_path_pattern'
branch_labels = None
depends_on = None

# Without these, removing an account makes the database scan each of these tables for references
# (a 100,000-account clean-up ran past the statement timeout).
COLUMNS = [
    ('question_version', 'created_by_id'),
    ('round', 'created_by_id'),
    ('screen_link', 'created_by_id'),
    ('error_report', 'handled_by_id'),
]


def upgrade():
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade():
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
