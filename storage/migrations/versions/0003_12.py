"""counting periods: orgs' 起算日期 and members' joining day

Revision ID: 0003_12
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_12"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counting_start", sa.Date(), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_on", sa.Date(), nullable=True))
    # Existing orgs and members count from the day they were created (UTC day).
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AS DATE)"
    op.execute(f"UPDATE org SET counting_start = {day}")
    op.execute(f"UPDATE member SET joined_on = {day}")


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("joined_on")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_column("counting_start")
