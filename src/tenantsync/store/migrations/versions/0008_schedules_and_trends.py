"""schedules in admin terms, each account's display time zone, mailbox counts over time

A schedule may now run on chosen weekdays only (in its own time zone, with its window);
an account picks the time zone the console shows its times in; and every user sync that
ends records how many mailboxes its organization holds and how many bill, so the console
can draw them over time (nothing kept these counts before: they were computed on demand).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekdays", sa.String(length=32), nullable=True))
    with op.batch_alter_table("console_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
    op.create_table(
        "organization_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailboxes", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_count_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["run.id"],
            name=op.f("fk_organization_count_run_id_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_count")),
    )
    with op.batch_alter_table("organization_count", schema=None) as batch_op:
        batch_op.create_index(
            "ix_organization_count_org_at", ["organization_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organization_count", schema=None) as batch_op:
        batch_op.drop_index("ix_organization_count_org_at")
    op.drop_table("organization_count")
    with op.batch_alter_table("console_account", schema=None) as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_column("weekdays")
