"""The console's authorization hook in a real browser: a 401 makes the page ask for a token, the
token is sent on every later request, and what the token may not do is hidden.

The console's routes run in-process on uvicorn with a permissions hook (the security layer's
future entry point) over small stand-ins for the service (see tests/unit/test_console_routes.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import cast

import pytest
import uvicorn
from playwright.sync_api import Browser, expect
from starlette.routing import Router

from pyserving.console import MetricsWindow, console_routes
from pyserving.management.controller import ConfigController
from pyserving.service.core import ServingService
from tests.integration.browser import TIMEOUT_MS, PageProblems, chromium
from tests.integration.harness import free_port
from tests.unit.test_console_routes import FakeController, FakeService, needs_token


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    routes = console_routes(
        cast(ServingService, FakeService()),
        cast(ConfigController, FakeController()),
        MetricsWindow(),
        permissions=needs_token,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Router(routes=routes), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def test_console_asks_for_a_token_and_hides_what_it_may_not_do(
    base_url: str, browser: Browser
) -> None:
    problems = PageProblems(allowed_statuses={401})
    page = problems.watch(browser.new_page())
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base_url + "/console/")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("A token is required")
    page.fill("#token-input", "viewer")
    dialog.get_by_role("button", name="Use token").click()
    card = page.locator('section.model[data-model="m"]')
    expect(card.locator('tr[data-version="2"]')).to_have_attribute("data-state", "AVAILABLE")
    expect(card.locator('tr[data-version="1"] .error')).to_have_text("NOT_FOUND: no SavedModel")
    # The viewer token may predict but not act: no admin controls anywhere.
    expect(card.locator(".try-it")).to_be_visible()
    expect(card.locator(".actions")).to_be_hidden()
    expect(card.get_by_role("button", name="Unload")).to_have_count(0)
    expect(page.locator("#add-model")).to_be_hidden()
    expect(page.locator("#live")).to_contain_text("live")
    page.close()
    assert problems.problems == []
