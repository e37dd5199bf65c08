"""Sandbox networks: each sandbox's egress policy, its static address on the bridge, its refusal counts.

Sandboxes made before this ran had no network: they are recorded as blocked.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sandboxes", sa.Column("network_block_all", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("sandboxes", sa.Column("network_allow_list", sa.Text, nullable=True))
    op.add_column("sandboxes", sa.Column("domain_allow_list", sa.Text, nullable=True))
    op.add_column("sandboxes", sa.Column("network_ip", sa.String(15), nullable=True))
    op.add_column("sandboxes", sa.Column("network_refused", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("sandboxes", sa.Column("network_refused_seen", sa.BigInteger, nullable=False, server_default="0"))
    op.create_index("ix_sandboxes_network_ip", "sandboxes", ["network_ip"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_sandboxes_network_ip", "sandboxes")
    for column in (
        "network_refused_seen",
        "network_refused",
        "network_ip",
        "domain_allow_list",
        "network_allow_list",
        "network_block_all",
    ):
        op.drop_column("sandboxes", column)
