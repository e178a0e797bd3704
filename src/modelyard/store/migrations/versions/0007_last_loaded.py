"""the version that last loaded per endpoint (what a restarting replica falls back to)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_last_loaded",
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=140), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name=op.f("pk_endpoint_last_loaded")),
    )


def downgrade() -> None:
    op.drop_table("endpoint_last_loaded")
