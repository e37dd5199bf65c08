"""Image namespaces: system (general) images, engine tags apart from names, per-owner names.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# SQLite's unique constraint from 0003 has no name: batch mode needs one to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("images", naming_convention=NAMING, recreate="always") as batch:
            batch.drop_constraint("uq_images_name", type_="unique")
    else:
        for constraint in sa.inspect(bind).get_unique_constraints("images"):
            if constraint["column_names"] == ["name"] and constraint["name"]:
                op.drop_constraint(constraint["name"], "images", type_="unique")
    op.add_column("images", sa.Column("general", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("images", sa.Column("engine_ref", sa.String(512), nullable=True))
    op.execute("UPDATE images SET engine_ref = name")
    op.create_index("ix_images_engine_ref", "images", ["engine_ref"], unique=True)
    op.create_index("ix_images_owner_name", "images", ["owner_id", "name"], unique=True)
    op.add_column("sandboxes", sa.Column("image_ref", sa.String(512), nullable=True))
    op.execute("UPDATE sandboxes SET image_ref = image")


def downgrade() -> None:
    op.drop_column("sandboxes", "image_ref")
    op.drop_index("ix_images_owner_name", "images")
    op.drop_index("ix_images_engine_ref", "images")
    op.drop_column("images", "engine_ref")
    op.drop_column("images", "general")
