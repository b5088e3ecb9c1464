"""Debian's Chromium driven by Playwright, for the console tests and ``make screenshots``.

Playwright's own browser download cannot work here (no internet), so the system Chromium is
launched (``make setup-browser`` installs it). :class:`PageProblems` collects what must fail a test:
console errors, uncaught exceptions, failed requests and HTTP error answers.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

CHROMIUM = os.environ.get("PYSERVING_CHROMIUM", "/usr/bin/chromium")
# The pages poll every second or two; the machine running the tests may be busy.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make setup-browser` (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """Everything that went wrong on a page; ``allowed_statuses`` are expected error answers."""

    allowed_statuses: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium also logs every HTTP error answer on the console: expected ones are fine.
        expected = re.search(r"status of (\d+)", message.text)
        if expected and int(expected.group(1)) in self.allowed_statuses:
            return
        self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.status not in self.allowed_statuses:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )


Stroke = Sequence[tuple[float, float]]
# Digits as pen strokes in the unit square (x right, y down).
DIGIT_STROKES: dict[str, Sequence[Stroke]] = {
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "7": [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
}


def draw(page: Page, selector: str, strokes: Sequence[Stroke], steps: int = 12) -> None:
    """Draw ``strokes`` on the element with synthesized pointer (mouse) events."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not visible"
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for i in range(1, steps + 1):
                page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        page.mouse.up()
