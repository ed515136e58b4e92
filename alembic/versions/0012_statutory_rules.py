"""The statutory rules corrected (issue 17): the referral's ground facts (codes confirmed,
expected start, end of agreed leave, a deletion already made), the social worker and virtual
school told, and the case's report to the police.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absence_codes_confirmed', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('expected_start_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('leave_ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('roll_deleted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('roll_deletion_ground',
                                      sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True))

    with op.batch_alter_table('dslappraisal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('social_worker_told',
                                      sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('social_worker_told_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('virtual_school_told',
                                      sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('virtual_school_told_on', sa.Date(), nullable=True))

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_missing_to_police', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('police_reported_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('police_reference',
                                      sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('police_reference')
        batch_op.drop_column('police_reported_on')
        batch_op.drop_column('reported_missing_to_police')

    with op.batch_alter_table('dslappraisal', schema=None) as batch_op:
        batch_op.drop_column('virtual_school_told_on')
        batch_op.drop_column('virtual_school_told')
        batch_op.drop_column('social_worker_told_on')
        batch_op.drop_column('social_worker_told')

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_column('roll_deletion_ground')
        batch_op.drop_column('roll_deleted_on')
        batch_op.drop_column('leave_ends_on')
        batch_op.drop_column('expected_start_date')
        batch_op.drop_column('absence_codes_confirmed')
