"""Securing education: the steps towards a school place once a child is found (keyworker,
application, offer, Fair Access, EHCP naming, s.437 notice, School Attendance Order), and how
each episode reason was set (by hand, at the start, or following those steps).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 06:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('securingstep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('case_episode', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('school', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('panel_on', sa.Date(), nullable=True),
    sa.Column('challenged', sa.Boolean(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('securingstep', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_securingstep_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('episodereason', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10),
                                      nullable=True))
    # Existing history: an episode's first reason is the one it started with; a later one
    # someone chose is taken as chosen by hand (the steps never set one before this).
    op.execute(
        "UPDATE episodereason SET source = 'start' WHERE id IN "
        "(SELECT MIN(id) FROM episodereason GROUP BY episode_id)"
    )
    op.execute(
        "UPDATE episodereason SET source = 'officer' "
        "WHERE source IS NULL AND changed_by_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('episodereason', schema=None) as batch_op:
        batch_op.drop_column('source')
    with op.batch_alter_table('securingstep', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_securingstep_case_id'))
    op.drop_table('securingstep')
