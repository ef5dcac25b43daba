"""Browser-test harness: a live ShopReel server per test, driven by headless Chromium.

* ``live_server`` serves ``create_app`` with uvicorn on 127.0.0.1 (a free port) in a
  background thread with its own event loop. The server gets its OWN ``Runtime``, built in
  that thread from the session ``settings``: the ``runtime`` fixture's engines belong to
  the pytest event loop and must not be used from another loop. Tests still use
  ``runtime`` to look at the databases, and its teardown empties every table after the
  server has stopped, so each test starts from empty tables.
* ``browser`` is one Chromium per session (``/usr/bin/chromium`` or
  ``SHOPREEL_TEST_CHROMIUM``; never a downloaded browser). ``page`` (phone, 390x844) and
  ``desktop_page`` (1280x800) open a fresh context per test: no cookies carried over.
* Every page is watched: a console error (a CSP violation is one), an uncaught exception,
  a ``securitypolicyviolation`` event, a failed or 4xx/5xx sub-resource, or any 5xx response
  fails the test. A 4xx *document* is left to the test to assert on (a bad login is a 401).
* On failure the page's screenshot, HTML and console log go to
  ``test-artifacts/browser/<test-name>.{png,html,log}`` at the repository root.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.templating import Jinja2Templates
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    async_playwright,
    expect,
)
from playwright.async_api import Error as PlaywrightError

from shopreel.config import Settings
from shopreel.kit.mail import FileOutbox
from shopreel.kit.ratelimit import MemoryFailureCounter, RedisFailureCounter
from shopreel.runtime import Runtime
from shopreel.web.templating import build_templates
from tests.fixtures.services import redis_url, require_chromium, test_backend

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000  # generous for a loaded CI box; a passing test never waits for it
SERVER_START_TIMEOUT = 15.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# Reports every CSP violation of a document with its details (the console message alone
# does not name the directive). Init scripts run through DevTools, so the CSP allows them.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__shopreelCspViolation({
    directive: e.effectiveDirective || e.violatedDirective,
    blocked: e.blockedURI,
    source: e.sourceFile,
    line: e.lineNumber,
    sample: e.sample,
  });
});
"""
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")

expect.set_options(timeout=TIMEOUT_MS)


# --- failure reports --------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item (``item.rep_setup``, ``rep_call``, ...) so
    fixtures can tell in their teardown whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _test_failed(node: pytest.Item) -> bool:
    report = getattr(node, "rep_call", None)
    return bool(report is not None and report.failed)


def _artifact_stem(node: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", node.name).strip("_")


# --- live server ------------------------------------------------------------------------


@cache
def _shared_templates() -> Jinja2Templates:
    """One Jinja environment for every live server of the run, as in one app process:
    templates compile once instead of once per test (Jinja still reloads edited files)."""
    return build_templates()


class LiveServer:
    """uvicorn serving a ShopReel app in a thread, with a Runtime of its own."""

    def __init__(self, settings: Settings, outbox: Path) -> None:
        self.settings = settings
        self.outbox = outbox
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Binding here (port 0: the OS picks a free port) and handing the socket to uvicorn
        # leaves no window in which another process could take the port.
        self._socket.bind(("127.0.0.1", 0))
        host, port = self._socket.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="shopreel-live-server", daemon=True)

    def _build_runtime(self) -> Runtime:
        runtime = Runtime.from_settings(self.settings)
        runtime.templates = _shared_templates()
        runtime.mailer = FileOutbox(self.outbox)
        url = redis_url()
        if url and test_backend() == "postgres":
            runtime.failures = RedisFailureCounter(
                url, prefix=f"shopreel:test:{os.urandom(6).hex()}:"
            )
        else:
            runtime.failures = MemoryFailureCounter()
        return runtime

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread by start()/stop()
            self._error = exc

    async def _serve(self) -> None:
        from shopreel.app import create_app

        runtime = self._build_runtime()
        try:
            config = uvicorn.Config(
                create_app(runtime=runtime),
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=3,
            )
            self._server = uvicorn.Server(config)
            await self._server.serve(sockets=[self._socket])
        finally:
            await runtime.close()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not (self._server is not None and self._server.started):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"live server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"live server did not start in {SERVER_START_TIMEOUT} s")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("live server did not stop within 10 s")
        if self._error is not None:
            raise RuntimeError("live server crashed") from self._error


@pytest.fixture
def live_server(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[LiveServer]:
    """A running server for this test. Depends on ``runtime`` so that the tables are
    emptied (``runtime`` teardown) only after the server has stopped. Mail goes to the
    ``runtime`` fixture's outbox, so ``tests.fixtures.factories.outbox(runtime, ...)``
    sees what the server sent."""
    mailer = runtime.mailer
    outbox = mailer.directory if isinstance(mailer, FileOutbox) else tmp_path / "outbox"
    server = LiveServer(settings, outbox)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    executable = require_chromium()
    browser = await playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        await browser.close()


class PageWatch:
    """What went wrong in the browser while a test ran."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.console_errors: list[ConsoleMessage] = []
        self.page_errors: list[str] = []
        self.csp_violations: list[dict[str, Any]] = []
        self.bad_responses: list[str] = []
        self.failed_requests: list[str] = []
        self.error_documents: set[str] = set()

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    def on_csp_violation(self, _source: Any, violation: dict[str, Any]) -> None:
        self.csp_violations.append(violation)

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"[{message.type}] {message.text} ({message.location.get('url')})")
        if message.type == "error":
            self.console_errors.append(message)

    def _on_request_failed(self, request: Request) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the browser, e.g. a favicon still loading when we navigate
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        request = response.request
        if response.status >= 500:
            self.bad_responses.append(f"{response.status} {request.method} {response.url}")
        elif response.status >= 400:
            if request.resource_type == "document" and request.frame.parent_frame is None:
                # The page itself, e.g. a 401 for a bad login: the test asserts on it.
                self.error_documents.add(response.url)
            else:
                self.bad_responses.append(f"{response.status} {request.method} {response.url}")

    def problems(self) -> list[str]:
        found: list[str] = []
        for message in self.console_errors:
            url = message.location.get("url", "")
            if _FAILED_LOAD.match(message.text) and url in self.error_documents:
                continue  # Chromium's log line for a 4xx page the test asked for
            found.append(f"console error: {message.text} ({url})")
        found += [f"uncaught exception: {error}" for error in self.page_errors]
        found += [f"CSP violation: {violation}" for violation in self.csp_violations]
        found += [f"bad response: {line}" for line in self.bad_responses]
        found += [f"request failed: {line}" for line in self.failed_requests]
        return found


async def _save_artifacts(page: Page, stem: Path, watch: PageWatch) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"url: {page.url}", *watch.console, *watch.problems()]
    try:
        await page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
        stem.with_suffix(".html").write_text(await page.content(), encoding="utf-8")
    except Exception as exc:  # a dead page must not hide the real failure
        lines.append(f"could not capture the page: {exc!r}")
    stem.with_suffix(".log").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def new_watched_page(
    browser: Browser, base_url: str, viewport: ViewportSize, *, mobile: bool
) -> tuple[Page, PageWatch]:
    """A page in a fresh context (no cookies), with a ``PageWatch`` on it. The caller
    closes ``page.context``."""
    context = await browser.new_context(
        base_url=base_url,
        viewport=viewport,
        is_mobile=mobile,
        has_touch=mobile,
        locale="en-US",
        timezone_id="UTC",
        reduced_motion="reduce",
        service_workers="block",
    )
    context.set_default_timeout(TIMEOUT_MS)
    watch = PageWatch()
    await context.expose_binding("__shopreelCspViolation", watch.on_csp_violation)
    await context.add_init_script(_CSP_LISTENER)
    page = await context.new_page()
    watch.attach(page)
    return page, watch


@asynccontextmanager
async def _watched_page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    viewport: ViewportSize,
    *,
    mobile: bool,
) -> AsyncIterator[Page]:
    stem = _artifact_stem(request.node)
    for old in stem.parent.glob(f"{stem.name}.*"):
        old.unlink()  # no stale screenshot from an earlier failing run
    page, watch = await new_watched_page(browser, live_server.url, viewport, mobile=mobile)
    problems: list[str] = []
    try:
        yield page
    finally:
        failed = _test_failed(request.node)
        if not failed and not page.is_closed():
            # Let the last page finish loading (its deferred script may still log errors).
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_load_state("load")
        problems = watch.problems()
        if failed or problems:
            await _save_artifacts(page, stem, watch)
        await page.context.close()
    if problems and not failed:
        pytest.fail(
            "the browser reported problems (artifacts in "
            f"{stem.relative_to(REPO_ROOT)}.*):\n  " + "\n  ".join(problems),
            pytrace=False,
        )


@pytest.fixture
async def page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A phone-sized page (390x844, touch) on the live server; relative URLs work."""
    async with _watched_page(browser, live_server, request, PHONE, mobile=True) as p:
        yield p


@pytest.fixture
async def desktop_page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A desktop-sized page (1280x800) on the live server."""
    async with _watched_page(browser, live_server, request, DESKTOP, mobile=False) as p:
        yield p
