"""Keep only quota limits in users.quota: older versions also stored the create request's other fields there
(id, name, role and the plaintext password).

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The limit names of this revision (daytona_server.quotas.DEFAULT_QUOTA), spelled out: a migration
# must not change when the code does.
LIMITS = {
    "maxCpuPerWorkspace", "maxMemoryPerWorkspace", "maxDiskPerWorkspace", "maxGpuPerWorkspace",
    "maxConcurrentWorkspaces", "totalCpuQuota", "totalMemoryQuota", "totalGpuQuota", "totalDiskQuota",
    "workspaceQuota", "imageQuota", "maxImageSize", "totalImageSize",
}  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.String), sa.column("quota", sa.JSON))
    for user_id, quota in bind.execute(sa.select(users.c.id, users.c.quota)).all():
        stored = json.loads(quota) if isinstance(quota, str) else (quota or {})
        kept = {k: v for k, v in stored.items() if k in LIMITS and isinstance(v, int | float)}
        if kept != stored:
            bind.execute(users.update().where(users.c.id == user_id).values(quota=kept))


def downgrade() -> None:
    pass  # what was dropped (a plaintext password among it) is not to come back
