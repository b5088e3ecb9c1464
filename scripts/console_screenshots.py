"""Screenshots of the console and the digits page for the README (``make screenshots``).

Serves the demo models with ``pyserving serve`` (a copy of their config, so the labels set here
stay out of the demo's), sends some traffic so the charts have lines, then photographs both pages
in Debian's Chromium.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.browser import DIGIT_STROKES, chromium, draw  # noqa: E402
from tests.integration.harness import running_server  # noqa: E402

TRAFFIC_SECONDS = 40.0


def traffic(base: str, sample: dict[str, object], stop: threading.Event) -> None:
    """A few requests a second: both digits versions, half_plus_two, and an occasional bad one."""
    with httpx.Client(base_url=base, timeout=30) as client:
        i = 0
        while not stop.is_set():
            i += 1
            client.post("/v1/models/digits/labels/stable:predict", json=sample)
            client.post("/v1/models/digits/labels/canary:predict", json=sample)
            client.post("/v1/models/half_plus_two:predict", json={"instances": [1.0, 2.0, 5.0]})
            if i % 15 == 0:
                client.post("/v1/models/half_plus_two:predict", json={"instances": "oops"})
            stop.wait(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=ROOT / "demo" / "models")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sample = json.loads((args.models / "sample_digits.json").read_text())
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "models.config"
        config.write_text((args.models / "models.config").read_text())
        serve = ["serve", "--model-config-file", str(config), "--port", "{grpc_port}",
                 "--rest-port", "{rest_port}"]  # fmt: skip
        with running_server(serve, "/healthz", program="pyserving") as server:
            base = server.base_url
            while httpx.get(base + "/readyz").status_code != 200:
                time.sleep(0.2)
            for label, version in (("stable", 1), ("canary", 2)):
                url = f"{base}/v1/admin/models/digits/labels/{label}"
                httpx.put(url, json={"version": version}).raise_for_status()
            stop = threading.Event()
            sender = threading.Thread(target=traffic, args=(base, sample, stop), daemon=True)
            sender.start()
            time.sleep(TRAFFIC_SECONDS)
            try:
                shoot(base, args.out)
            finally:
                stop.set()
                sender.join()
    return 0


def shoot(base: str, out: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
        page.goto(base + "/console/")
        card = page.locator('section.model[data-model="digits"]')
        card.locator(".tile path.line").first.wait_for()
        card.locator(".signatures summary").click()
        card.locator(".try-it summary").click()
        card.get_by_role("button", name="Send").click()
        card.locator(".answer.ok").wait_for()
        page.wait_for_timeout(2500)  # one more metrics refresh
        page.screenshot(path=str(out / "console.png"), full_page=True)
        print(f"wrote {out / 'console.png'}")

        page.set_viewport_size({"width": 1200, "height": 640})
        page.goto(base + "/demo/digits")
        page.locator(".result").first.wait_for()
        draw(page, "#pad", DIGIT_STROKES["7"])
        page.locator(".result .bars rect").first.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "digits.png"), full_page=True)
        print(f"wrote {out / 'digits.png'}")


if __name__ == "__main__":
    sys.exit(main())
