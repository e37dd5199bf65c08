"""Archive bookkeeping, progress and auto-archive for sandboxes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandboxes") as batch:
        batch.add_column(sa.Column("auto_archive_interval", sa.Integer, nullable=False, server_default="10080"))
        batch.add_column(sa.Column("progress", sa.Text, nullable=True))
        batch.add_column(sa.Column("archive_key", sa.String(512), nullable=True))
        batch.add_column(sa.Column("archive_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("archive_size", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandboxes") as batch:
        for column in (
            "archived_at",
            "archive_size",
            "archive_sha256",
            "archive_key",
            "progress",
            "auto_archive_interval",
        ):
            batch.drop_column(column)
