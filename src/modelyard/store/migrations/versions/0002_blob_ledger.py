"""blob ledger: reservations of in-flight blobs and the lock that guards deletion

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_blobs")),
    )
    op.create_index(op.f("ix_pending_blobs_token"), "pending_blobs", ["token"])
    op.create_index(op.f("ix_pending_blobs_sha256"), "pending_blobs", ["sha256"])
    locks = op.create_table(
        "store_locks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_locks")),
    )
    op.bulk_insert(locks, [{"name": "blobs"}])


def downgrade() -> None:
    op.drop_table("store_locks")
    op.drop_index(op.f("ix_pending_blobs_sha256"), table_name="pending_blobs")
    op.drop_index(op.f("ix_pending_blobs_token"), table_name="pending_blobs")
    op.drop_table("pending_blobs")
