"""org names unique among siblings; archived orgs; members who left; revoked and personal invites;
roster uploads waiting for their apply

Revision ID: 0005_13
Revises: 0004_17
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0005_13"
down_revision = "0004_17"
branch_labels = None
depends_on = None

# SQLite reflects the initial schema's unique constraint on org.name without a name: this
# convention names it so that the batch copy can drop it.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_org_name_unique() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("org_name_key", "org", type_="unique")
        return
    with op.batch_alter_table("org", schema=None, naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("uq_org_name", type_="unique")


def upgrade() -> None:
    _drop_org_name_unique()
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_org_name"), ["name"], unique=False)
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("left_reason", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True)
        )
        batch_op.add_column(
            sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True)
        )
        batch_op.add_column(sa.Column("party_joined_on", sa.Date(), nullable=True))
        batch_op.create_unique_constraint("uq_member_person_key", ["person_key"])
    with op.batch_alter_table("invitecode", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("person_key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True)
        )
        batch_op.add_column(
            sa.Column("person_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("party_joined_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invitecode_person_key"), ["person_key"], unique=False)
    op.create_table(
        "rosterupload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("rosterupload")
    with op.batch_alter_table("invitecode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitecode_person_key"))
        batch_op.drop_column("party_joined_on")
        batch_op.drop_column("person_name")
        batch_op.drop_column("person_key")
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_constraint("uq_member_person_key", type_="unique")
        batch_op.drop_column("party_joined_on")
        batch_op.drop_column("person_key")
        batch_op.drop_column("left_reason")
        batch_op.drop_column("left_on")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_name"))
        batch_op.drop_column("archived_at")
        # Names are unique again only if no two siblings share one: the downgrade fails otherwise.
        batch_op.create_unique_constraint("org_name_key", ["name"])
