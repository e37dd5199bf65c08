"""Today's wire format: volumes, signed preview links, forks, auto-delete, snapshot defaults and recipes.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(64), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("error_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_volumes_owner_name", "volumes", ["owner_id", "name"], unique=True)
    op.create_table(
        "preview_links",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("sandbox_id", sa.String(64), nullable=False, index=True),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("sandboxes", sa.Column("volumes", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("sandboxes", sa.Column("auto_delete_interval", sa.Integer, nullable=False, server_default="-1"))
    op.add_column("sandboxes", sa.Column("parent_id", sa.String(64), nullable=True))
    op.add_column("images", sa.Column("defaults", sa.JSON, nullable=False, server_default="{}"))
    op.add_column("images", sa.Column("dockerfile", sa.Text, nullable=True))
    op.add_column("images", sa.Column("source_sandbox_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("images", "source_sandbox_id")
    op.drop_column("images", "dockerfile")
    op.drop_column("images", "defaults")
    op.drop_column("sandboxes", "parent_id")
    op.drop_column("sandboxes", "auto_delete_interval")
    op.drop_column("sandboxes", "volumes")
    op.drop_table("preview_links")
    op.drop_index("ix_volumes_owner_name", "volumes")
    op.drop_table("volumes")
