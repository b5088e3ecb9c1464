"""The console and the digits page in a real browser (Debian's Chromium via Playwright) against a
real ``pyserving serve`` of the demo's digits models and TF Serving's half_plus_two.

Every test fails on a console error, an uncaught exception, a failed request or an unexpected
HTTP error answer on the page.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PROJECT_ROOT
from tests.integration.browser import DIGIT_STROKES, TIMEOUT_MS, PageProblems, chromium, draw
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

ADMIN_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def demo_models(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's digits versions 1 and 2 (trained by demo/build_demo.py, seconds)."""
    out = tmp_path_factory.mktemp("demo") / "models"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "demo" / "build_demo.py"), "--out", str(out),
         "--shared", str(shared_models)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def server(demo_models: Path, shared_models: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    """digits serving only version 2 at first (tests load version 1), and half_plus_two."""
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {\n"
        f'  config {{ name: "digits" base_path: "{demo_models / "digits"}" '
        'model_platform: "tensorflow" model_version_policy { specific { versions: 2 } } }\n'
        f'  config {{ name: "half_plus_two" base_path: '
        f'"{shared_models / "saved_model_half_plus_two_cpu"}" model_platform: "tensorflow" }}\n'
        "}\n"
    )
    args = ["serve", "--model-config-file", str(config), "--port", "{grpc_port}",
            "--rest-port", "{rest_port}", "--enable-admin-api"]  # fmt: skip
    with running_server(args, "/readyz", program="pyserving") as process:
        deadline = time.monotonic() + 120
        while httpx.get(process.base_url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, process.output
            time.sleep(0.2)
        yield process


@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser: Browser, problems: PageProblems) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = problems.watch(context.new_page())
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    assert problems.problems == []


def admin(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method,
        f"{server.base_url}/v1/admin/{path}",
        json=body,
        params={"timeout_seconds": ADMIN_TIMEOUT_S},
        timeout=ADMIN_TIMEOUT_S + 10,
    )
    assert response.status_code < 300, response.text
    return response.json()


def model_card(page: Page, name: str) -> Any:
    return page.locator(f'section.model[data-model="{name}"]')


def test_console_shows_models_versions_states_and_signatures(
    server: ServerProcess, page: Page
) -> None:
    page.goto(server.base_url + "/")
    digits = model_card(page, "digits")
    expect(digits.locator('tr[data-version="2"]')).to_have_attribute("data-state", "AVAILABLE")
    expect(digits.locator('tr[data-version="2"] .state')).to_have_text("AVAILABLE")
    expect(digits.locator(".platform")).to_have_text("tensorflow")
    half = model_card(page, "half_plus_two")
    expect(half.locator('tr[data-version="123"]')).to_have_attribute("data-state", "AVAILABLE")
    digits.locator(".signatures summary").click()
    table = digits.locator(".signature", has_text="serving_default")
    expect(table.locator("tr", has_text="pixels")).to_contain_text("float")
    expect(table.locator("tr", has_text="pixels")).to_contain_text("[-1, 64]")
    expect(table.locator("tr", has_text="probabilities")).to_contain_text("[-1, 10]")
    expect(page.locator("#live")).to_contain_text("live")


def test_version_load_and_label_moves_appear_live(
    server: ServerProcess, page: Page, problems: PageProblems, demo_models: Path
) -> None:
    page.goto(server.base_url + "/console/")
    digits = model_card(page, "digits")
    expect(digits.locator('tr[data-version="2"]')).to_have_attribute("data-state", "AVAILABLE")
    expect(digits.locator('tr[data-version="1"]')).to_have_count(0)

    # Changes made by someone else show up without a reload.
    entry = admin(server, "GET", "models/digits")
    entry["version_policy"] = {"specific": {"versions": [1, 2]}}
    del entry["name"]
    admin(server, "PUT", "models/digits", entry)
    expect(digits.locator('tr[data-version="1"]')).to_have_attribute("data-state", "AVAILABLE")
    admin(server, "PUT", "models/digits/labels/stable", {"version": 2})
    stable = digits.locator('.labels li[data-label="stable"]')
    expect(stable).to_contain_text("→ 2")
    expect(digits.locator('tr[data-version="2"] .label-chip')).to_have_text("stable")

    # Cancelling (with the keyboard) changes nothing.
    stable.locator("select").select_option("1")
    stable.get_by_role("button", name="Move label stable of digits", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-dialog")).to_contain_text('Move label "stable" of digits')
    page.keyboard.press("Escape")
    expect(page.locator("#outcomes li").first).to_contain_text("Cancelled")
    assert admin(server, "GET", "models/digits")["version_labels"] == {"stable": 2}

    # Moving the label from the console: confirmed, reported, applied, shown.
    stable.locator("select").select_option("1")
    stable.get_by_role("button", name="Move label stable of digits", exact=True).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#outcomes li").first).to_contain_text(
        "Move digits label stable to 1: done"
    )
    assert admin(server, "GET", "models/digits")["version_labels"] == {"stable": 1}
    expect(digits.locator('.labels li[data-label="stable"]')).to_contain_text("→ 1")

    # A failing action reports the server's error.
    problems.allowed_statuses.add(400)
    page.fill("#add-name", "broken")
    page.fill("#add-path", str(demo_models / "nonexistent"))  # inside the allowed roots
    page.fill("#add-platform", "bogus")
    page.get_by_role("button", name="Load", exact=True).last.click()
    page.locator("#confirm-dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator("#outcomes li.failed").first).to_contain_text(
        "Load model broken: failed — 400: Model broken requests unsupported platform bogus"
    )


def test_try_it_sends_the_prefilled_example_and_shows_the_answer(
    server: ServerProcess, page: Page
) -> None:
    page.goto(server.base_url + "/console/")
    panel = model_card(page, "digits").locator(".try-it")
    panel.locator("summary").click()
    editor = panel.locator("textarea")
    expect(editor).to_have_value(re.compile(r'"signature_name": "serving_default"'))
    body = editor.input_value()
    assert len(re.findall(r"0\.5", body)) == 64, body
    panel.get_by_role("button", name="Send").click()
    expect(panel.locator(".latency")).to_contain_text(re.compile(r"→ 200 in [\d.]+ ms"))
    answer = panel.locator(".answer")
    expect(answer).to_contain_text("probabilities")
    expect(answer).to_contain_text("class_id")

    # The same over V2 (Open Inference Protocol), through a version label.
    admin(server, "PUT", "models/digits/labels/tryit", {"version": 2})
    panel.get_by_label("Protocol").select_option("v2")
    panel.get_by_label("Send to").select_option("label:tryit")
    expect(editor).to_have_value(re.compile(r'"datatype": "FP32"'))
    panel.get_by_role("button", name="Send").click()
    expect(panel.locator(".latency")).to_contain_text(
        re.compile(r"/v2/models/digits/versions/tryit/infer → 200 in [\d.]+ ms")
    )
    expect(answer).to_contain_text('"model_version": "2"')
    expect(answer).to_contain_text("probabilities")
    admin(server, "DELETE", "models/digits/labels/tryit")

    half = model_card(page, "half_plus_two").locator(".try-it")
    half.locator("summary").click()
    half.locator("textarea").fill('{"instances": [1.0, 2.0, 5.0]}')
    half.get_by_role("button", name="Send").click()
    expect(half.locator(".answer")).to_contain_text('"predictions"')
    expect(half.locator(".answer")).to_contain_text("4.5")


def test_try_it_shows_an_error_answer(
    server: ServerProcess, page: Page, problems: PageProblems
) -> None:
    problems.allowed_statuses.add(400)
    page.goto(server.base_url + "/console/")
    half = model_card(page, "half_plus_two").locator(".try-it")
    half.locator("summary").click()
    half.locator("textarea").fill('{"instances": "nope"}')
    half.get_by_role("button", name="Send").click()
    expect(half.locator(".answer.failed")).to_contain_text("400")


def test_metrics_charts_show_requests(server: ServerProcess, page: Page) -> None:
    for _ in range(30):
        httpx.post(
            server.base_url + "/v1/models/half_plus_two:predict",
            json={"instances": [1.0]},
            timeout=30,
        )
    page.goto(server.base_url + "/console/")
    tiles = model_card(page, "half_plus_two").locator(".tile")
    expect(tiles).to_have_count(4)
    # The charts draw a line once the sampler has seen the requests.
    expect(tiles.nth(0).locator("path.line")).to_have_count(1)
    expect(tiles.nth(2).locator("path.line")).to_have_count(2)
    document = httpx.get(server.base_url + "/console/api/metrics", timeout=10).json()
    points = document["models"]["half_plus_two"]
    assert sum(p["rps"] for p in points) > 0
    assert any(p["p99_ms"] for p in points)


def test_drawn_digit_is_predicted_by_both_versions(server: ServerProcess, page: Page) -> None:
    admin(server, "PUT", "models/digits", _digits_entry(server, [1, 2]))
    page.goto(server.base_url + "/demo/digits")
    expect(page.locator("#geometry")).to_have_text("8\N{MULTIPLICATION SIGN}8 pixels")
    columns = page.locator(".result")
    expect(columns).to_have_count(2)
    draw(page, "#pad", DIGIT_STROKES["1"])
    for version in ("1", "2"):
        column = page.locator(f'.result[data-version="{version}"]')
        expect(column.locator(".prediction")).to_have_text(re.compile(r"^\d \d+%$"))
        expect(column.locator(".bars rect")).to_have_count(10)
    # Version 2 is the well-trained one.
    expect(page.locator('.result[data-version="2"] .prediction')).to_have_text(re.compile(r"^1 "))
    page.get_by_role("button", name="Clear").click()
    expect(page.locator('.result[data-version="2"] .prediction')).to_have_text("\N{EN DASH}")


def test_touch_drawing_is_predicted(server: ServerProcess, browser: Browser) -> None:
    problems = PageProblems()
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, has_touch=True, is_mobile=True
    )
    page = problems.watch(context.new_page())
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server.base_url + "/demo/digits")
        expect(page.locator(".result").first).to_be_visible()
        box = page.locator("#pad").bounding_box()
        assert box is not None
        client = context.new_cdp_session(page)
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
        points = [(x, y + box["height"] * 0.7 * i / 10) for i in range(11)]
        for kind, (px, py) in [("touchStart", points[0])] + [("touchMove", p) for p in points[1:]]:
            client.send(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": px, "y": py}]}
            )
        client.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(page.locator(".result .prediction").first).to_have_text(re.compile(r"^\d "))
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
    assert problems.problems == []


def test_pages_are_readable_at_375_px(server: ServerProcess, browser: Browser) -> None:
    problems = PageProblems()
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = problems.watch(context.new_page())
    page.set_default_timeout(TIMEOUT_MS)
    try:
        for path, ready in (("/console/", "section.model"), ("/demo/digits", ".result")):
            page.goto(server.base_url + path)
            expect(page.locator(ready).first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    finally:
        context.close()
    assert problems.problems == []


def _digits_entry(server: ServerProcess, versions: list[int]) -> dict[str, Any]:
    entry: dict[str, Any] = admin(server, "GET", "models/digits")
    entry["version_policy"] = {"specific": {"versions": versions}}
    del entry["name"]
    return entry
