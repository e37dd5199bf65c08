"""Steps the browser tests share: signing in, finding a sandbox's row, answering the confirmation dialog."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from ..support.dashboard import Dashboard


def sign_in_with_password(page: Page, dashboard: Dashboard) -> None:
    page.goto("/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(dashboard.admin_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Sandboxes", level=1)).to_be_visible()


def row_of(page: Page, sandbox_id: str) -> Locator:
    return page.locator(f'#sandboxes-table tbody tr[data-id="{sandbox_id}"]')


def confirm(page: Page, button: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_be_hidden()
