"""The dashboard end to end in Chromium: sign in, API keys (UI key -> .env -> SDK), sandboxes live, detail."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from daytona_sdk import (
    CreateWorkspaceParams,
    Daytona,
    DaytonaAuthenticationError,
    DaytonaConfig,
    DaytonaNotFoundError,
    SessionExecuteRequest,
    Workspace,
)

from ..support.dashboard import Dashboard
from .helpers import confirm, row_of, sign_in_with_password

Shot = Callable[[Page, str], Path]
# User data that would run if the page ever put it in as HTML.
MARKUP = "<img src=/x onerror=window.__injected=1>"


@pytest.fixture
def sandbox(dashboard: Dashboard) -> Iterator[Workspace]:
    with dashboard.sdk() as daytona:
        labels = {"suite": "browser", "note": MARKUP}
        created = daytona.create(CreateWorkspaceParams(labels=labels, auto_stop_interval=0))
        yield created
        try:
            daytona.remove(created)
        except DaytonaNotFoundError:
            pass


def test_sign_in_with_password_wrong_password_and_sign_out(page: Page, dashboard: Dashboard, screenshot: Shot) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"#/signin$"))
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    screenshot(page, "signin")

    # Empty fields are caught in the page; a wrong password gets the server's message.
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#password-form-error")).to_have_text("Enter your user name.")
    expect(page.get_by_label("User name")).to_be_focused()
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#password-form-error [role=alert]")).to_have_text("wrong username, password or API key")
    screenshot(page, "signin-error")

    # Keyboard only: type the password and press Enter.
    page.get_by_label("Password").fill(dashboard.admin_password)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Sandboxes", level=1)).to_be_visible()
    expect(page.locator("#account")).to_contain_text("Signed in as admin")
    expect(page.get_by_role("link", name="Sandboxes", exact=True)).to_have_attribute("aria-current", "page")

    # The session is a cookie the page's scripts cannot read.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["daytona_session"]["httpOnly"] and cookies["daytona_session"]["sameSite"] == "Strict"
    assert "daytona_session" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    # Signed out on the server too: a reload stays on the sign-in page.
    page.reload()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    page.goto("/#/keys")
    expect(page).to_have_url(re.compile(r"#/signin$"))


def test_sign_in_with_api_key(page: Page, dashboard: Dashboard) -> None:
    page.goto("/")
    page.get_by_label("API key").fill("dtn_not_a_real_key")
    page.get_by_role("button", name="Sign in with key").click()
    expect(page.locator("#apikey-form-error [role=alert]")).to_have_text("wrong username, password or API key")
    page.get_by_label("API key").fill(dashboard.server.api_key)
    page.get_by_role("button", name="Sign in with key").click()
    expect(page.get_by_role("heading", name="Sandboxes", level=1)).to_be_visible()
    expect(page.locator("#account")).to_contain_text("admin")

    # The session ends (here: its cookie is gone): the next poll brings the sign-in page back, saying why.
    page.context.clear_cookies()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Your session has ended: sign in again.")


def test_api_key_created_in_ui_works_from_env_file_and_stops_when_revoked(
    page: Page, dashboard: Dashboard, screenshot: Shot, tmp_path: Path
) -> None:
    sign_in_with_password(page, dashboard)
    page.get_by_role("link", name="API Keys").click()
    heading = page.get_by_role("heading", name="API Keys", level=1)
    expect(heading).to_be_focused()  # a new page starts at its heading
    # The skip link is the first stop of the keyboard and keeps the page.
    page.reload()
    expect(heading).to_be_visible()  # rendered: on a loaded machine, Enter could land before the view does
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(heading).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/keys$"))

    page.get_by_role("button", name="Create Key").click()
    expect(page.locator("#keys-error")).to_have_text("Enter a name for the key.")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create Key").click()
    panel = page.locator("#new-key")
    expect(panel).to_contain_text('Key "laptop" created')
    expect(panel).to_be_focused()
    key = page.locator("#new-key-value").input_value()
    assert re.fullmatch(r"dtn_[A-Za-z0-9_-]{43}", key), key
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    screenshot(page, "api-keys-created")

    # The getting-started flow: the .env snippet from the page, then the SDK with no arguments.
    snippet = page.locator("#env-snippet").inner_text()
    assert f"DAYTONA_API_KEY={key}" in snippet and f"DAYTONA_SERVER_URL={dashboard.server.url}" in snippet
    (tmp_path / ".env").write_text(snippet + "\n")  # the tests run in tmp_path (tests/conftest.py)
    with Daytona() as daytona:
        assert isinstance(daytona.list(), list)
    with Daytona(DaytonaConfig(api_key=key, server_url=dashboard.server.url)) as daytona:
        assert isinstance(daytona.list(), list)

    # A second key with the same name: the server's 409, readable.
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create Key").click()
    expect(page.locator("#keys-error [role=alert]")).to_contain_text("already have an API key named 'laptop'")

    # Listed masked, with its last use; the whole key is nowhere on the page after a reload.
    page.reload()
    row = page.locator('#keys-table tr[data-name="laptop"]')
    expect(row).to_contain_text(key[:8])
    expect(row.locator("td").nth(2)).not_to_have_text("never")  # last used, by the SDK above
    assert key not in page.content()
    screenshot(page, "api-keys")

    # Cancel keeps the key; confirming revokes it and the SDK is refused at once.
    row.get_by_role("button", name="Revoke key laptop").click()
    expect(page.get_by_role("dialog")).to_contain_text('Revoke key "laptop"?')
    screenshot(page, "api-keys-revoke-confirm")
    expect(page.get_by_role("dialog").get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(row.get_by_role("button", name="Revoke key laptop")).to_be_focused()  # focus goes back
    expect(row).to_be_visible()
    with Daytona(DaytonaConfig(api_key=key, server_url=dashboard.server.url)) as daytona:
        daytona.list()
    row.get_by_role("button", name="Revoke key laptop").click()
    confirm(page, "Revoke key")
    expect(row).to_have_count(0)
    with (
        Daytona(DaytonaConfig(api_key=key, server_url=dashboard.server.url)) as daytona,
        pytest.raises(DaytonaAuthenticationError),
    ):
        daytona.list()


def test_start_stop_archive_delete_from_the_ui_with_live_state(
    page: Page, dashboard: Dashboard, sandbox: Workspace, screenshot: Shot
) -> None:
    sign_in_with_password(page, dashboard)
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    row = row_of(page, sandbox.id)
    expect(row.locator(".state")).to_have_text("started")
    expect(row).to_contain_text("suite=browser")
    expect(row).to_contain_text(f"note={MARKUP}")  # shown as text, never parsed
    expect(row.locator("img")).to_have_count(0)
    expect(row).to_contain_text("1 CPU · 2 GB RAM")
    expect(row).to_contain_text("daytona-sandbox")
    expect(row.get_by_role("button", name=f"Start sandbox {sandbox.id}")).to_be_disabled()
    # The whole table fits a laptop screen: no sideways scrolling to reach the actions.
    assert page.evaluate("(w => w.scrollWidth <= w.clientWidth)(document.querySelector('.table-wrap'))")
    screenshot(page, "sandboxes")

    # Stop asks first; the row follows without reloading the page.
    row.get_by_role("button", name=f"Stop sandbox {sandbox.id}").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Stop sandbox {sandbox.id}?")
    confirm(page, "Stop sandbox")
    expect(row.locator(".state")).to_have_text("stopped")
    assert sandbox.info().state == "stopped"

    row.get_by_role("button", name=f"Start sandbox {sandbox.id}").click()
    expect(row.locator(".state")).to_have_text("started", timeout=60_000)
    assert sandbox.info().state == "started"

    # A change made elsewhere (here the SDK) shows up by itself, within the 2 s polling.
    sandbox.stop()
    expect(row.locator(".state")).to_have_text("stopped")
    row.get_by_role("button", name=f"Archive sandbox {sandbox.id}").click()
    confirm(page, "Archive sandbox")
    expect(row.locator(".state")).to_have_text("archived", timeout=60_000)
    screenshot(page, "sandboxes-archived")
    row.get_by_role("button", name=f"Start sandbox {sandbox.id}").click()
    expect(row.locator(".state")).to_have_text("started", timeout=120_000)  # restored from the archive

    # Delete: cancel first, then confirm; the row goes, and so does the sandbox.
    row.get_by_role("button", name=f"Delete sandbox {sandbox.id}").click()
    confirm(page, "Cancel")
    expect(row.locator(".state")).to_have_text("started")
    row.get_by_role("button", name=f"Delete sandbox {sandbox.id}").click()
    confirm(page, "Delete sandbox")
    expect(row).to_have_count(0)
    with dashboard.sdk() as daytona, pytest.raises(DaytonaNotFoundError):
        daytona.get_current_workspace(sandbox.id)
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.__injected") is None


def test_api_errors_are_shown_as_messages(page: Page, dashboard: Dashboard, sandbox: Workspace) -> None:
    # Timers held: the page loads its list once and does not poll, while the sandbox goes away
    # behind its back.
    now = time.time()
    page.clock.install(time=now)
    page.clock.pause_at(now + 1)
    sign_in_with_password(page, dashboard)
    row = row_of(page, sandbox.id)
    expect(row.locator(".state")).to_have_text("started")
    # Deleted behind the page's back, then stopped from the (stale) page: the server's 404 message.
    with dashboard.sdk() as daytona:
        daytona.remove(sandbox)
    row.get_by_role("button", name=f"Stop sandbox {sandbox.id}").click()
    confirm(page, "Stop sandbox")
    expect(page.locator("#sandboxes-error [role=alert]")).to_have_text(f"sandbox {sandbox.id} not found")
    expect(row).to_have_count(0)  # and the list catches up
    page.clock.resume()


def test_detail_page_shows_info_and_session_commands_with_logs(
    page: Page, dashboard: Dashboard, sandbox: Workspace, screenshot: Shot
) -> None:
    sandbox.process.create_session("build")
    sandbox.process.execute_session_command("build", SessionExecuteRequest(command="cd /workspace && pwd"))
    ran = sandbox.process.execute_session_command(
        "build", SessionExecuteRequest(command="echo hello-from-session; echo oops >&2; exit 3")
    )
    assert ran.exit_code == 3

    sign_in_with_password(page, dashboard)
    row_of(page, sandbox.id).get_by_role("link", name=f"Sandbox {sandbox.id}").click()
    expect(page).to_have_url(re.compile(rf"#/sandboxes/{re.escape(sandbox.id)}$"))
    info = page.locator("#sandbox-info")
    expect(info).to_contain_text(sandbox.id)
    expect(info).to_contain_text("suite=browser")
    expect(info.locator("img")).to_have_count(0)
    expect(info.locator(".state")).to_have_text("started")
    expect(page.locator("#network-policy")).to_have_text("none: loopback only")  # this server: networking off
    expect(page.locator("#network-refused")).to_have_text("0")

    commands = page.locator("#commands")
    failing = commands.locator("details").filter(has_text="echo hello-from-session")
    expect(failing).to_contain_text("exit 3")
    expect(commands.locator("details").filter(has_text="cd /workspace && pwd")).to_contain_text("exit 0")
    # The newest command first; opened with the keyboard, its log loads.
    expect(commands.locator("details").first).to_contain_text("echo hello-from-session")
    failing.locator("summary").focus()
    page.keyboard.press("Enter")
    log = failing.locator("pre.log")
    expect(log).to_contain_text("hello-from-session")
    expect(log).to_contain_text("oops")
    screenshot(page, "sandbox-detail")

    # A new command shows after "Refresh commands"; stopping from this page updates it live.
    sandbox.process.execute_session_command("build", SessionExecuteRequest(command="echo second-run"))
    page.get_by_role("button", name="Refresh commands").click()
    expect(commands.locator("details").first).to_contain_text("echo second-run")
    page.get_by_role("button", name=f"Stop sandbox {sandbox.id}").click()
    confirm(page, "Stop sandbox")
    expect(info.locator(".state")).to_have_text("stopped")
    expect(commands).to_contain_text("start it to see its session commands")
    screenshot(page, "sandbox-detail-stopped")
