"""现场比武 (the live contest): contests, teams, segments, questions, joined phones and the event log

Revision ID: 0019_live_contest
Revises: 0018_unsourced_questions
Create Date: 2026-12-07 05:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_live_contest'
down_revision = '0018_unsourced_questions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contest',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('podium', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_contest_created_by_id_user')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_contest_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest')),
        sa.UniqueConstraint('code', name=op.f('uq_contest_code')),
    )
    with op.batch_alter_table('contest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_unit_id'), ['unit_id'], unique=False)
    op.create_table(
        'contest_team',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('unit_name', sa.String(length=100), nullable=False),
        sa.Column('members', sa.JSON(), nullable=False),
        sa.Column('pin', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_contest_team_contest_id_contest')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_team')),
        sa.UniqueConstraint('contest_id', 'position', name=op.f('uq_contest_team_contest_id_position')),
    )
    op.create_table(
        'contest_segment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column(
            'kind',
            sa.Enum('required', 'buzz', 'risk', 'tiebreak', name='segment_kind', native_enum=False,
                    create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column('title', sa.String(length=50), nullable=False),
        sa.Column('points_right', sa.Integer(), nullable=False),
        sa.Column('points_wrong', sa.Integer(), nullable=False),
        sa.Column('time_limit_seconds', sa.Integer(), nullable=False),
        sa.Column('early_penalty', sa.Integer(), nullable=False),
        sa.Column('stakes', sa.JSON(), nullable=False),
        sa.Column('team_ids', sa.JSON(), nullable=True),
        sa.Column('phone_answers', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_contest_segment_contest_id_contest')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_segment')),
        sa.UniqueConstraint('contest_id', 'position', name=op.f('uq_contest_segment_contest_id_position')),
    )
    op.create_table(
        'contest_question',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('segment_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['segment_id'], ['contest_segment.id'],
                                name=op.f('fk_contest_question_segment_id_contest_segment')),
        sa.ForeignKeyConstraint(['team_id'], ['contest_team.id'], name=op.f('fk_contest_question_team_id_contest_team')),
        sa.ForeignKeyConstraint(['version_id'], ['question_version.id'],
                                name=op.f('fk_contest_question_version_id_question_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_question')),
        sa.UniqueConstraint('segment_id', 'position', name=op.f('uq_contest_question_segment_id_position')),
    )
    with op.batch_alter_table('contest_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_question_version_id'), ['version_id'], unique=False)
    op.create_table(
        'contest_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('member', sa.String(length=50), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_contest_device_contest_id_contest')),
        sa.ForeignKeyConstraint(['team_id'], ['contest_team.id'], name=op.f('fk_contest_device_team_id_contest_team')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_device')),
        sa.UniqueConstraint('token', name=op.f('uq_contest_device_token')),
    )
    with op.batch_alter_table('contest_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_device_contest_id'), ['contest_id'], unique=False)
    op.create_table(
        'contest_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('mono_ns', sa.BigInteger(), nullable=False),
        sa.Column('boot', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_contest_event_actor_id_user')),
        sa.ForeignKeyConstraint(['contest_id'], ['contest.id'], name=op.f('fk_contest_event_contest_id_contest')),
        sa.ForeignKeyConstraint(['device_id'], ['contest_device.id'],
                                name=op.f('fk_contest_event_device_id_contest_device')),
        sa.ForeignKeyConstraint(['team_id'], ['contest_team.id'], name=op.f('fk_contest_event_team_id_contest_team')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_event')),
        sa.UniqueConstraint('contest_id', 'seq', name=op.f('uq_contest_event_contest_id_seq')),
    )


def downgrade():
    op.drop_table('contest_event')
    with op.batch_alter_table('contest_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_device_contest_id'))
    op.drop_table('contest_device')
    with op.batch_alter_table('contest_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_question_version_id'))
    op.drop_table('contest_question')
    op.drop_table('contest_segment')
    op.drop_table('contest_team')
    with op.batch_alter_table('contest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_unit_id'))
    op.drop_table('contest')
