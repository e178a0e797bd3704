"""prediction log, feedback and monitor windows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("prediction", sa.Text(), nullable=False),
        sa.Column("scores", sa.Text(), nullable=True),
        sa.Column("routing_key", sa.String(length=256), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("prediction_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("actual", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_feedback")),
    )
    op.create_index("ix_feedback_endpoint_received", "feedback", ["endpoint", "received_at"])
    op.create_table(
        "monitor_windows",
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=140), nullable=False),
        sa.Column("bucket_start", sa.DateTime(), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), nullable=False),
        sa.Column("sketch", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "endpoint", "version", "bucket_start", "replica", name=op.f("pk_monitor_windows")
        ),
    )
    op.create_index(
        "ix_monitor_windows_endpoint_bucket", "monitor_windows", ["endpoint", "bucket_start"]
    )


def downgrade() -> None:
    op.drop_table("monitor_windows")
    op.drop_table("feedback")
    op.drop_table("predictions")
