"""The sandbox page's tools in Chromium: file browser, usage charts, terminal; and the "Create sandbox" form."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from daytona_sdk import CreateWorkspaceParams, DaytonaNotFoundError, Workspace

from ..support.dashboard import Dashboard
from .helpers import confirm, sign_in_with_password

Shot = Callable[[Page, str], Path]
HOME = "/home/daytona"


@pytest.fixture
def sandbox(dashboard: Dashboard) -> Iterator[Workspace]:
    with dashboard.sdk() as daytona:
        created = daytona.create(CreateWorkspaceParams(labels={"suite": "browser-tools"}, auto_stop_interval=0))
        yield created
        try:
            daytona.remove(created)
        except DaytonaNotFoundError:
            pass


def open_sandbox(page: Page, dashboard: Dashboard, sandbox_id: str) -> None:
    sign_in_with_password(page, dashboard)
    page.goto(f"/#/sandboxes/{sandbox_id}")
    expect(page.locator("#sandbox-info .state")).to_have_text("started")


def file_row(page: Page, name: str) -> Locator:
    return page.locator(f'#files-table tbody tr[data-name="{name}"]')


def test_file_browser_lists_uploads_downloads_and_deletes(
    page: Page, dashboard: Dashboard, sandbox: Workspace, screenshot: Shot, tmp_path: Path
) -> None:
    sandbox.fs.create_folder(f"{HOME}/project")
    sandbox.fs.upload_file(f"{HOME}/project/notes.txt", b"take notes\n")
    open_sandbox(page, dashboard, sandbox.id)

    # It opens at the user's home; folders first, with size, mode and modified time.
    path = page.locator("#files-path")
    expect(path.locator("[aria-current]")).to_have_text("daytona")
    folder = file_row(page, "project")
    expect(folder).to_have_attribute("data-kind", "dir")
    expect(folder.locator(".mode-col")).to_have_text(re.compile(r"^drwx"))
    expect(folder.locator("time")).to_have_count(1)
    folder.get_by_role("button", name="Open folder project").click()
    expect(path.locator("[aria-current]")).to_have_text("project")
    notes = file_row(page, "notes.txt")
    expect(notes.locator(".size-col")).to_have_text("11 B")
    expect(notes.locator(".mode-col")).to_have_text("-rw-r--r--")
    page.get_by_role("button", name="Up", exact=True).click()
    expect(path.locator("[aria-current]")).to_have_text("daytona")
    path.get_by_role("button", name="Open folder /home").click()
    expect(file_row(page, "daytona")).to_be_visible()
    file_row(page, "daytona").get_by_role("button", name="Open folder daytona").click()
    expect(folder).to_be_visible()

    # Upload with the file picker: listed, and in the sandbox with its bytes.
    local = tmp_path / "hello.txt"
    local.write_bytes(b"hello from the dashboard\n")
    page.get_by_label("Upload files to this folder").set_input_files(str(local))
    uploaded = file_row(page, "hello.txt")
    expect(uploaded.locator(".size-col")).to_have_text("25 B")
    expect(page.locator("#files-status")).to_have_text(f"Uploaded hello.txt to {HOME}.")
    assert sandbox.fs.download_file(f"{HOME}/hello.txt") == b"hello from the dashboard\n"

    # Download it back, as the browser saves it.
    with page.expect_download() as download:
        uploaded.get_by_role("link", name="Download hello.txt").click()
    assert download.value.suggested_filename == "hello.txt"
    assert Path(download.value.path()).read_bytes() == b"hello from the dashboard\n"

    # Drag and drop a file onto the listing.
    drop = page.evaluate_handle(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(["dropped\\n"], "dropped.txt", { type: "text/plain" }));
          return data;
        }"""
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("#files-drop", event, {"dataTransfer": drop})
    expect(file_row(page, "dropped.txt").locator(".size-col")).to_have_text("8 B")
    assert sandbox.fs.download_file(f"{HOME}/dropped.txt") == b"dropped\n"
    screenshot(page, "sandbox-files")

    # Delete asks first: cancel keeps the file, confirming removes it; a folder goes with its contents.
    uploaded.get_by_role("button", name="Delete hello.txt").click()
    expect(page.get_by_role("dialog")).to_contain_text("Delete hello.txt?")
    confirm(page, "Cancel")
    expect(uploaded).to_be_visible()
    uploaded.get_by_role("button", name="Delete hello.txt").click()
    confirm(page, "Delete file")
    expect(uploaded).to_have_count(0)
    folder.get_by_role("button", name="Delete project").click()
    expect(page.get_by_role("dialog")).to_contain_text("everything in it")
    confirm(page, "Delete folder")
    expect(folder).to_have_count(0)
    names = {f.name for f in sandbox.fs.list_files(HOME)}
    assert "hello.txt" not in names and "project" not in names and "dropped.txt" in names

    # A file that went away behind the page's back: downloading says so instead of saving an error.
    sandbox.fs.delete_file(f"{HOME}/dropped.txt")
    file_row(page, "dropped.txt").get_by_role("link", name="Download dropped.txt").click()
    expect(page.locator("#files-error [role=alert]")).to_contain_text("dropped.txt")


def test_create_sandbox_form_shows_api_errors_then_opens_the_new_sandbox(
    page: Page, dashboard: Dashboard, screenshot: Shot
) -> None:
    sign_in_with_password(page, dashboard)
    page.get_by_role("button", name="Create sandbox").click()
    form = page.locator("#create-form")
    expect(page.get_by_label("Image or snapshot")).to_be_focused()

    # The server's messages, on the field they name.
    page.get_by_label("Image or snapshot").fill("no-such-image")
    form.get_by_role("button", name="Create sandbox").click()
    expect(page.locator("#create-error [role=alert]")).to_contain_text("image 'no-such-image:latest' not found")
    expect(page.get_by_label("Image or snapshot")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Image or snapshot").fill("")
    page.get_by_label("CPU cores").fill("999")
    form.get_by_role("button", name="Create sandbox").click()
    expect(page.locator("#create-error [role=alert]")).to_contain_text("cpu")
    expect(page.locator("#create-error [role=alert]")).to_contain_text("less than or equal to 64")
    expect(page.get_by_label("CPU cores")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("CPU cores")).to_be_focused()
    screenshot(page, "create-sandbox-error")

    # A line that is no KEY=VALUE is caught in the page.
    page.get_by_label("CPU cores").fill("")
    page.get_by_label("Environment variables").fill("GREETING=hi\nNOT A PAIR")
    form.get_by_role("button", name="Create sandbox").click()
    expect(page.locator("#create-error [role=alert]")).to_have_text(
        'Environment variables, line 2: write KEY=VALUE, not "NOT A PAIR".'
    )
    expect(page.get_by_label("CPU cores")).not_to_have_attribute("aria-invalid", "true")

    # An allow list on this server (it runs sandboxes without a network): the server says why not.
    page.get_by_label("Environment variables").fill("GREETING=hi")
    page.get_by_label("Only these destinations").check()
    page.get_by_label("Reachable addresses (CIDRs)").fill("203.0.113.0/24")
    form.get_by_role("button", name="Create sandbox").click()
    expect(page.locator("#create-error [role=alert]")).to_contain_text("without a network")

    # Fixed: created, and the page moves to it.
    page.get_by_label("No network (block all)").check()
    expect(page.get_by_label("Reachable addresses (CIDRs)")).to_be_hidden()
    page.get_by_label("Name", exact=True).fill("from-the-form")
    page.get_by_label("Class").select_option("small")
    page.get_by_label("Labels", exact=True).fill("team=ml\n# a comment\nowner=dashboard")
    page.get_by_label("Auto-stop after (idle minutes)").fill("0")
    form.get_by_role("button", name="Create sandbox").click()
    expect(page.get_by_role("heading", name="from-the-form", level=1)).to_be_visible(timeout=60_000)
    match = re.search(r"#/sandboxes/([^/]+)$", page.url)
    assert match, page.url
    info = page.locator("#sandbox-info")
    expect(info).to_contain_text("team=ml")
    expect(info).to_contain_text("owner=dashboard")
    expect(info).to_contain_text("GREETING")
    expect(page.locator("#network-policy")).to_have_text("none: loopback only")
    with dashboard.sdk() as daytona:
        created = daytona.get_current_workspace(match.group(1))
        assert created.instance.labels == {"team": "ml", "owner": "dashboard"}
        assert created.instance.env == {"GREETING": "hi"}
        assert created.instance.auto_stop_interval == 0
        assert created.instance.class_name == "small"
        daytona.remove(created)


def test_usage_charts_draw_live_values_without_counting_as_activity(
    page: Page, dashboard: Dashboard, sandbox: Workspace, screenshot: Shot
) -> None:
    open_sandbox(page, dashboard, sandbox.id)
    cpu = page.locator("figure:has(#chart-cpu)")
    memory = page.locator("figure:has(#chart-memory)")
    expect(cpu).to_have_attribute("data-samples", re.compile(r"^[1-9]"))
    expect(page.locator("#chart-cpu-value")).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(page.locator("#chart-cpu-detail")).to_have_text(re.compile(r"^of \d+ CPUs?$"))
    expect(page.locator("#chart-memory-value")).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(page.locator("#chart-memory-detail")).to_have_text(re.compile(r" of 2\.0 GiB$"))
    expect(page.locator("#chart-memory")).to_have_attribute(
        "aria-label", re.compile(r"^Memory over the last \d+ (s|min): now")
    )
    expect(page.locator("#metrics-disk")).to_contain_text("free")
    # The page's opening read the files and the session commands through the toolbox: that is activity.
    expect(page.locator("#files-body")).to_be_visible()
    expect(page.locator("#commands")).to_contain_text("No session commands yet")

    # The server does not count the polling as activity: over more than its 5 s resolution of
    # activity, the sandbox's last activity stays where the page's opening left it.
    def last_activity() -> str:
        answer = httpx.get(
            f"{dashboard.server.url}/sandbox/{sandbox.id}",
            headers={"Authorization": f"Bearer {dashboard.server.api_key}"},
        )
        answer.raise_for_status()
        return str(answer.json()["lastActivityAt"])

    before = last_activity()
    expect(memory).to_have_attribute("data-samples", re.compile(r"^([5-9]|\d\d)"), timeout=20_000)
    points = page.locator("#chart-cpu .chart-line").get_attribute("points") or ""
    assert len(points.split()) >= 5
    assert last_activity() == before
    screenshot(page, "sandbox-usage")

    # Stopped: the charts stand still and say why.
    sandbox.stop()
    expect(page.locator("#metrics-note")).to_have_text(re.compile(r"^The sandbox is stopp"))


PTY_MISSING = importlib.util.find_spec("daytona_agent.pty_sessions") is None


@pytest.mark.skipif(PTY_MISSING, reason="PTY terminals (src/daytona_agent/pty_sessions.py) are not built yet")
def test_terminal_runs_a_command_and_reports_the_exit(
    page: Page, dashboard: Dashboard, sandbox: Workspace, screenshot: Shot
) -> None:
    open_sandbox(page, dashboard, sandbox.id)
    page.get_by_role("button", name="Open terminal").click()
    expect(page.locator("#terminal-status")).to_have_text("Terminal connected.")
    screen = page.locator("#terminal")
    rows = screen.locator(".xterm-rows > div")
    page.keyboard.type("echo hi\n")
    expect(rows.filter(has_text=re.compile(r"^\s*hi\s*$"))).to_have_count(1)

    # The shell has the size of the page's terminal, and follows it when the window changes.
    def shell_size_is_the_terminals() -> None:
        cols, lines = (screen.get_attribute("data-size") or "").split("x")
        page.keyboard.type("clear; stty size\n")
        expect(rows.filter(has_text=re.compile(rf"^\s*{lines} {cols}\s*$"))).to_have_count(1)

    shell_size_is_the_terminals()
    before = screen.get_attribute("data-size")
    with page.expect_response(re.compile(r"/process/pty/[^/]+/resize$")) as resized:
        page.set_viewport_size({"width": 1000, "height": 768})
    assert resized.value.ok
    assert screen.get_attribute("data-size") != before
    shell_size_is_the_terminals()
    screenshot(page, "sandbox-terminal")

    # Escape alone reaches the shell (a moment later); Escape, then Tab, leaves the terminal for the next
    # control. The shell's exit code is shown.
    page.keyboard.type("""read -rsn1 key; printf '<%q>\\n' "$key"\n""")
    page.keyboard.press("Escape")
    expect(rows.filter(has_text="<$'\\E'>")).to_have_count(1)
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("() => !document.querySelector('#terminal').contains(document.activeElement)")
    screen.click()
    page.keyboard.type("exit 3\n")
    expect(page.locator("#terminal-status")).to_have_text("The shell exited with code 3.")

    # A new terminal; closing it ends its shell in the sandbox too (a shell left running would keep the
    # sandbox from auto-stopping).
    page.get_by_role("button", name="Open terminal").click()
    expect(page.locator("#terminal-status")).to_have_text("Terminal connected.")
    pty_id = screen.get_attribute("data-pty-id")
    with page.expect_response(lambda r: r.request.method == "DELETE" and f"/process/pty/{pty_id}" in r.url) as killed:
        page.get_by_role("button", name="Close terminal").click()
    assert killed.value.ok
    expect(page.locator("#terminal-status")).to_have_text("Terminal closed.")
    expect(page.get_by_role("button", name="Open terminal")).to_be_focused()
    answer = httpx.get(
        f"{dashboard.server.url}/toolbox/{sandbox.id}/process/pty/{pty_id}",
        headers={"Authorization": f"Bearer {dashboard.server.api_key}"},
    )
    assert answer.status_code == 404, answer.text


def test_terminal_says_so_when_xterm_is_not_installed(page: Page, dashboard: Dashboard, sandbox: Workspace) -> None:
    page.route("**/vendor/**", lambda route: route.fulfill(status=404, body="not found"))
    open_sandbox(page, dashboard, sandbox.id)
    expect(page.locator("#terminal-missing")).to_contain_text("make dashboard-assets")
    expect(page.get_by_role("button", name="Open terminal")).to_be_disabled()
    expect(page.locator("#files-table")).to_be_visible()  # the rest of the page works
