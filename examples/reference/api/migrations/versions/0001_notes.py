"""Members, notes and shares.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("sub", sa.String(length=64), primary_key=True),
        sa.Column("email", sa.String(length=254), nullable=False),
    )
    op.create_index("ix_members_email", "members", ["email"], unique=True)
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_sub", sa.String(length=64), sa.ForeignKey("members.sub"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_notes_owner_sub", "notes", ["owner_sub"])
    op.create_table(
        "note_shares",
        sa.Column(
            "note_id", sa.Integer(), sa.ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "member_sub",
            sa.String(length=64),
            sa.ForeignKey("members.sub", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    op.drop_table("note_shares")
    op.drop_index("ix_notes_owner_sub", table_name="notes")
    op.drop_table("notes")
    op.drop_index("ix_members_email", table_name="members")
    op.drop_table("members")
