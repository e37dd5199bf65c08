"""The service layer stands on its own: no wire module under it, and its rules hold without HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daytona_server.accounts import AccountService
from daytona_server.auth import ADMIN_ID
from daytona_server.db.models import User
from daytona_server.db.session import Database, migrate
from daytona_server.errors import BadRequest, Conflict, Forbidden
from daytona_server.storage import open_store


def test_services_import_no_wire_module() -> None:
    code = (
        "import sys, daytona_server.lifecycle.service, daytona_server.lifecycle.policies, daytona_server.accounts;"
        "print(sorted(m for m in sys.modules if m.startswith('daytona_server.api')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture
def accounts(tmp_path: Path) -> AccountService:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(db.engine)
    with db.session() as session:
        session.add(User(id=ADMIN_ID, name="admin", role="admin"))
        session.commit()
    return AccountService(db)


def test_a_user_record_keeps_only_known_limits(accounts: AccountService) -> None:
    admin = User(id=ADMIN_ID, name="admin", role="admin")
    made = accounts.create_user(admin, "bob", "Bob", "user", "bob-secret-pw", {"totalCpuQuota": 3, "password": 1})
    assert made.quota == {"totalCpuQuota": 3.0}
    assert accounts.set_quota(admin, "bob", {"imageQuota": 2, "id": 5}).quota == {"totalCpuQuota": 3.0, "imageQuota": 2}
    with pytest.raises(Forbidden):
        accounts.list_users(made)
    with pytest.raises(Conflict):
        accounts.delete_user(admin, ADMIN_ID)


def test_api_keys_are_named_once_per_user(accounts: AccountService) -> None:
    admin = User(id=ADMIN_ID, name="admin", role="admin")
    new = accounts.create_key(admin, "  ci  ")
    assert new.key.name == "ci" and new.value.startswith("dtn_")
    with pytest.raises(Conflict):
        accounts.create_key(admin, "ci")
    with pytest.raises(BadRequest):
        accounts.create_key(admin, "   ")
    assert [k.name for k in accounts.list_keys(admin)] == ["ci"]


def test_stores_say_where_to_stage_a_file(tmp_path: Path) -> None:
    staging = open_store(f"file://{tmp_path / 'archives'}").staging_dir()
    assert staging is not None and staging.is_dir() and staging.parent == tmp_path / "archives"
