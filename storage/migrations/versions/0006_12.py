"""counting periods: orgs' 起算日期 and members' joining day; exemptions' reason prompt and rejection

Revision ID: 0006_12
Revises: 0005_13
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006_12"
down_revision = "0005_13"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counting_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("leave_approval", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                server_default="approved",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("entered_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_leave_decided_by", "member", ["decided_by"], ["id"])
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("joined_on", sa.Date(), nullable=True))
    with op.batch_alter_table("dutyrecord", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review_status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("review_opinion", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_dutyrecord_reviewed_by", "member", ["reviewed_by"], ["id"])
        batch_op.add_column(sa.Column("topic", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("recorder", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column("expected_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("absent_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("absent_reasons", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
    with op.batch_alter_table("exemption", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("rejected_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_exemption_rejected_by", "member", ["rejected_by"], ["id"])
    # Existing orgs and members count from the day they were created (UTC day).
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AS DATE)"
    op.execute(f"UPDATE org SET counting_start = {day}")
    op.execute(f"UPDATE member SET joined_on = {day}")


def downgrade() -> None:
    with op.batch_alter_table("dutyrecord", schema=None) as batch_op:
        for column in (
            "place",
            "absent_reasons",
            "absent_count",
            "expected_count",
            "recorder",
            "host",
            "topic",
        ):
            batch_op.drop_column(column)
        batch_op.drop_constraint("fk_dutyrecord_reviewed_by", type_="foreignkey")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("review_opinion")
        batch_op.drop_column("review_status")
    with op.batch_alter_table("exemption", schema=None) as batch_op:
        batch_op.drop_constraint("fk_exemption_rejected_by", type_="foreignkey")
        batch_op.drop_column("rejected_by")
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("prompt_message_id")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("joined_on")
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.drop_constraint("fk_leave_decided_by", type_="foreignkey")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("entered_on")
        batch_op.drop_column("status")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_column("leave_approval")
        batch_op.drop_column("counting_start")
