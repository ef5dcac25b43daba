"""The trust console in a real browser: a trust officer approves a ticket that another staff
member asked for, under the real CSP (the harness fails the test on any console error or CSP
violation)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from shopreel.planes import CONTROL
from shopreel.runtime import Runtime
from shopreel.sovereignty import access
from shopreel.sovereignty.access_models import AccessTicket
from shopreel.uow import UnitOfWork
from tests.browser.conftest import LiveServer
from tests.fixtures.factories import PASSWORD, create_user
from tests.fixtures.services import require_chromium
from tests.trust.test_trust_pages import principal_of

pytestmark = pytest.mark.browser

OFFICER = "officer.lee@example.com"


async def test_trust_officer_approves_a_ticket_of_another_staff_member(
    desktop_page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    require_chromium()
    page = desktop_page
    await create_user(
        runtime,
        email=OFFICER,
        roles=("staff",),
        jurisdiction="US",
        staff_roles=("trust_officer",),
        display_name="Lee Officer",
    )
    requester = await create_user(
        runtime, roles=("staff",), jurisdiction="US", staff_roles=("support",)
    )
    customer = await create_user(runtime)
    async with UnitOfWork(runtime.databases) as uow:
        ticket = await access.request_ticket(
            uow,
            runtime,
            await principal_of(runtime, requester),
            category="account",
            purpose="fraud_investigation",
            justification="chargeback wave, case 4411",
            owner_ids=[customer.id],
        )

    # Anonymous: the console sends us to log in, and back afterwards.
    await page.goto("/trust/access")
    await expect(page).to_have_url(f"{live_server.url}/login?next=/trust/access")
    await page.get_by_label("Email").fill(OFFICER)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{live_server.url}/trust/access")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff access")
    console_nav = page.get_by_role("navigation", name="Trust console")
    await expect(console_nav.get_by_role("link", name="Access")).to_have_attribute(
        "aria-current", "page"
    )

    row = page.locator(f"#ticket-{ticket.id}")
    await expect(row).to_contain_text("Pending")
    await expect(row).to_contain_text(requester.id)
    await row.get_by_role("button", name=f"Approve ticket {ticket.id}").click()

    await expect(page).to_have_url(f"{live_server.url}/trust/access?notice=ticket_approved")
    await expect(page.locator("#flash-region")).to_contain_text("Ticket approved")
    row = page.locator(f"#ticket-{ticket.id}")
    await expect(row).to_contain_text("Approved")
    await expect(row.get_by_role("button")).to_have_count(0)
    await expect(row).to_contain_text(re.compile(r"Until \d{4}-\d\d-\d\d"))

    async with runtime.databases.session(CONTROL) as session:
        stored = await session.get(AccessTicket, ticket.id)
        assert stored is not None
        assert stored.status == "approved"
        assert stored.approved_by not in (None, requester.id)

    # The overview now has nothing waiting.
    await console_nav.get_by_role("link", name="Overview").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Trust console")
    await expect(page.locator("#stat-tickets")).to_have_text("0")


async def test_every_console_page_loads_cleanly_on_a_phone(
    page: Page, live_server: LiveServer, runtime: Runtime
) -> None:
    """Each page under the real CSP on a phone: no console errors, no CSP violations."""
    require_chromium()
    await create_user(
        runtime, email=OFFICER, roles=("staff",), jurisdiction="US", staff_roles=("trust_officer",)
    )
    await page.goto("/login?next=/trust")
    await page.get_by_label("Email").fill(OFFICER)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{live_server.url}/trust")
    for path, heading in (
        ("/trust/access", "Staff access"),
        ("/trust/proposals", "Policy proposals"),
        ("/trust/proposals/new", "Propose a change"),
        ("/trust/audit", "Audit log"),
        ("/trust/privacy", "Privacy requests"),
        ("/trust/report", "Transparency report: US"),
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    # A form round trip: an invalid proposal shows the error summary, focused.
    await page.goto("/trust/proposals/new")
    await page.get_by_label("Setting", exact=True).select_option("discovery.ranking_blend")
    await page.get_by_label("New value (JSON)").fill("{oops")
    await page.get_by_label("Rationale").fill("Testing the form in a browser.")
    await page.get_by_role("button", name="Propose").click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("not valid JSON")
    await expect(summary).to_be_focused()
    # Verify the log from the audit page.
    await page.goto("/trust/audit")
    await page.get_by_role("button", name="Verify log now").click()
    await expect(page.locator("#verify-summary")).to_contain_text("audit log intact")
