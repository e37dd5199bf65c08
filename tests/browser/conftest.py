"""The web dashboard in a real browser: Debian's Chromium driven by Playwright, against a real server.

Chromium comes from Debian (`apt-get install chromium`, which `make test` does); Playwright's own
browser download is never used, the machines have no internet.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, sync_playwright

from daytona_sdk import Daytona

from ..support.dashboard import Dashboard
from ..support.server import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / ".test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "dashboard-admin-" + secrets.token_hex(8)
# A laptop screen.
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def dashboard() -> Iterator[Dashboard]:
    try:
        docker.from_env().ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"browser tests need a running Docker engine (`make docker`): {exc}")
    tmp = Path(tempfile.mkdtemp(prefix="daytona-browser-"))
    server = start_server(
        tmp / "data",
        "dtn_browser_" + secrets.token_hex(16),
        env={"DAYTONA_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    yield Dashboard(server, ADMIN_PASSWORD)
    try:
        with Daytona(server.config()) as daytona:
            for workspace in daytona.list():
                daytona.remove(workspace)
    finally:
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


# Module scope, not session: while Playwright's sync API is open it holds an asyncio loop as the
# running loop, which would break every async test that pytest runs after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"browser tests need Debian's Chromium at {CHROMIUM}: `apt-get install chromium` (or `make test`)")
    with sync_playwright() as playwright:
        # Each launch gets a fresh, temporary profile (user data dir), removed on close.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class PageProbe:
    """What a page did that a test must not allow: uncaught script errors or Content-Security-Policy
    violations, requests off the server."""

    script_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


@pytest.fixture
def probe() -> PageProbe:
    return PageProbe()


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard, probe: PageProbe) -> Iterator[Page]:
    """A new browser context (no cookies) on a laptop-sized window; fails the test on script errors
    or on any request to anywhere but the server (no CDN, no internet)."""
    context = browser.new_context(base_url=dashboard.base_url, viewport=VIEWPORT)
    context.set_default_timeout(15_000)

    def guard(route: Route) -> None:
        if route.request.url.startswith(dashboard.base_url + "/") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            probe.foreign_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    opened.on("pageerror", lambda error: probe.script_errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            probe.script_errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    context.close()
    assert probe.script_errors == [], "uncaught errors in the page's scripts"
    assert probe.foreign_requests == [], "the dashboard requested something that is not on the server"


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save the whole page as .test-output/screenshots/<name>.png, for a person to look at, after checking
    the page's basic accessibility (assert_accessible)."""

    def take(page: Page, name: str) -> Path:
        assert_accessible(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# Checked on every page the tests visit: what a keyboard or screen-reader user needs at the least.
A11Y_PROBLEMS = """() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  if (!document.documentElement.lang) problems.push("<html> has no lang");
  const h1 = [...document.querySelectorAll("main h1")].filter(visible);
  if (h1.length !== 1) problems.push(`main has ${h1.length} visible h1`);
  for (const input of document.querySelectorAll("input, select, textarea")) {
    if (visible(input) && !input.labels.length && !input.getAttribute("aria-label")) {
      problems.push(`input #${input.id || input.name} has no label`);
    }
  }
  for (const el of document.querySelectorAll("button, a[href], summary")) {
    const name = (el.getAttribute("aria-label") || el.textContent || "").trim();
    if (visible(el) && !name) problems.push(`${el.tagName.toLowerCase()} without an accessible name`);
  }
  for (const el of document.querySelectorAll("[id]")) {
    if (document.querySelectorAll(`[id="${CSS.escape(el.id)}"]`).length > 1) problems.push(`duplicate id ${el.id}`);
  }
  for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) problems.push("img without alt");
  return [...new Set(problems)];
}"""


def assert_accessible(page: Page) -> None:
    """Labels on every field, a name on every control, one h1, no duplicate ids."""
    problems = page.evaluate(A11Y_PROBLEMS)
    assert problems == [], f"accessibility problems on {page.url}: {problems}"
