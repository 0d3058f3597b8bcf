"""seen_update: command updates already processed; members made admin by the setting

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seenupdate",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    with op.batch_alter_table("seenupdate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seenupdate_seen_at"), ["seen_at"], unique=False)
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_by_setting", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("role_before_admin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("role_before_admin")
        batch_op.drop_column("admin_by_setting")
    with op.batch_alter_table("seenupdate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seenupdate_seen_at"))
    op.drop_table("seenupdate")
