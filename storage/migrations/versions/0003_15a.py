"""soft-deleted schedules and holiday overrides; several groups per org (groupchat)

Revision ID: 0003_15a
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0003_15a"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groupchat",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("bound_by", sa.Integer(), nullable=True),
        sa.Column("bound_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bound_by"], ["member.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    with op.batch_alter_table("groupchat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groupchat_org_id"), ["org_id"], unique=False)
    # The one group each org could have moves to the new table.
    op.execute(
        "INSERT INTO groupchat (chat_id, org_id, bound_at) "
        "SELECT group_chat_id, id, created_at FROM org WHERE group_chat_id IS NOT NULL"
    )
    # Plain ALTER TABLE (SQLite 3.35+), not a batch: a batch copies the table, and dropping the
    # old org table fails its foreign keys once members reference it.
    op.drop_index("ix_org_group_chat_id", table_name="org")
    op.drop_column("org", "group_chat_id")
    op.add_column("schedule", sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column(
        "holidayoverride", sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )


def downgrade() -> None:
    # Removed rows were deleted before this revision: delete them again (runs first).
    op.execute("DELETE FROM holidayoverride WHERE removed_at IS NOT NULL")
    op.execute(
        "DELETE FROM delivery WHERE run_id IN (SELECT schedulerun.id FROM schedulerun "
        "JOIN schedule ON schedule.id = schedulerun.schedule_id WHERE schedule.removed_at IS NOT NULL)"
    )
    op.execute(
        "DELETE FROM schedulerun WHERE schedule_id IN (SELECT id FROM schedule WHERE removed_at IS NOT NULL)"
    )
    op.execute("DELETE FROM schedule WHERE removed_at IS NOT NULL")
    op.drop_column("holidayoverride", "removed_at")
    op.drop_column("schedule", "removed_at")
    op.add_column("org", sa.Column("group_chat_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_org_group_chat_id", "org", ["group_chat_id"], unique=False)
    # One group per org before: each keeps its most recently bound group.
    op.execute(
        "UPDATE org SET group_chat_id = (SELECT g.chat_id FROM groupchat g WHERE g.org_id = org.id "
        "ORDER BY g.bound_at DESC, g.chat_id LIMIT 1)"
    )
    with op.batch_alter_table("groupchat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groupchat_org_id"))
    op.drop_table("groupchat")
