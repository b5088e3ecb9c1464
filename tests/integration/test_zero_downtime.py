"""Zero downtime, end to end: a steady REST load while versions are published and labels move.

One real server (loopback only) serves model ``zd`` with a latest-2 policy from a config file.
Every version is :mod:`tests.integration.versioned_model`'s ``y = x + version``, so each answer to
``x = 0`` names the version that served it. While 16 client threads predict through the latest
version and the ``stable`` and ``canary`` labels, the test publishes 20 versions (build under a
temporary name, rename), moves ``canary`` then ``stable`` onto each one through the admin API
(with a rollback and roll-forward every fifth version), and finally copies one more version
slowly, file by file, onto its final name. Then it checks that

* not one request failed;
* every answer came from a version the server had reported AVAILABLE, with a clean status;
* a request through ``latest`` never got a version older than one already AVAILABLE when it
  started;
* a request through a label got a version that label pointed to at some moment of the request;
* the slowly copied version never answered before its copy was complete, and loaded cleanly.

Everything is bounded: each wait has a deadline and the clients stop when the publisher is done.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import running_server
from tests.integration.versioned_model import copy_slowly, publish, write_versioned_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MODEL = "zd"
CLIENTS = 16
VERSIONS = range(2, 22)  # 20 new versions after the first
SLOW_VERSION = 22
TARGETS = ("latest", "stable", "canary")
AVAILABLE_WITHIN_S = 30.0  # pick-up (two 1 s polls) plus load, on a busy machine
PATHS = {
    "latest": f"/v1/models/{MODEL}:predict",
    "stable": f"/v1/models/{MODEL}/labels/stable:predict",
    "canary": f"/v1/models/{MODEL}/labels/canary:predict",
}


@dataclass(frozen=True)
class Answer:
    target: str
    start: float
    end: float
    status: int
    version: int | None
    text: str


@dataclass(frozen=True)
class LabelMove:
    label: str
    version: int
    start: float  # the move happens between start and end (the admin call's duration)
    end: float


class Clients:
    """``CLIENTS`` threads predicting in a loop until stopped; every answer is recorded."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [
            threading.Thread(target=self._run, args=(TARGETS[i % len(TARGETS)],), daemon=True)
            for i in range(CLIENTS)
        ]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, target: str) -> None:
        with httpx.Client(base_url=self._base_url, timeout=10.0) as http:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    reply = http.post(PATHS[target], json={"instances": [0.0]})
                    status, text = reply.status_code, reply.text
                except httpx.HTTPError as exc:
                    status, text = 0, repr(exc)
                end = time.monotonic()
                version = None
                if status == 200:
                    (value,) = reply.json()["predictions"]
                    version = round(value)
                with self._lock:
                    self.answers.append(Answer(target, start, end, status, version, text))


def _statuses(http: httpx.Client) -> dict[int, dict[str, Any]]:
    rows = http.get(f"/v1/models/{MODEL}").json()["model_version_status"]
    return {int(row["version"]): row for row in rows}


def _wait_available(http: httpx.Client, version: int) -> float:
    """Poll the model status until ``version`` is AVAILABLE; returns when that was seen."""
    deadline = time.monotonic() + AVAILABLE_WITHIN_S
    while time.monotonic() < deadline:
        row = _statuses(http).get(version)
        if row is not None and row["state"] == "AVAILABLE":
            return time.monotonic()
        assert row is None or row["state"] != "END", f"version {version} failed: {row}"
        time.sleep(0.05)
    raise AssertionError(f"version {version} not AVAILABLE within {AVAILABLE_WITHIN_S} s")


def _move(http: httpx.Client, label: str, version: int, moves: list[LabelMove]) -> None:
    start = time.monotonic()
    reply = http.put(f"/v1/admin/models/{MODEL}/labels/{label}", json={"version": version})
    assert reply.status_code == 200, reply.text
    moves.append(LabelMove(label, version, start, time.monotonic()))


def _possible(moves: list[LabelMove], label: str, start: float, end: float) -> set[int]:
    """Versions ``label`` may have pointed to at some moment of [start, end]: a value holds from
    the start of the call that set it to the end of the call that replaced it."""
    mine = [m for m in moves if m.label == label]
    possible: set[int] = set()
    for i, move in enumerate(mine):
        until = mine[i + 1].end if i + 1 < len(mine) else float("inf")
        if move.start <= end and until >= start:
            possible.add(move.version)
    return possible


def test_versions_and_labels_change_under_load_without_a_failed_request(tmp_path: Path) -> None:
    base = tmp_path / MODEL
    base.mkdir()
    publish(base, 1)
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{base}" '
        'model_platform: "tensorflow" model_version_policy { latest { num_versions: 2 } } } }\n'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--file_system_poll_wait_seconds=1",
        "--enable_admin_api",
    ]
    available: dict[int, float] = {}
    moves: list[LabelMove] = []
    with (
        running_server(args, f"/v1/models/{MODEL}") as server,
        httpx.Client(base_url=server.base_url, timeout=30.0) as http,
    ):
        available[1] = _wait_available(http, 1)
        for label in ("stable", "canary"):
            _move(http, label, 1, moves)
        with Clients(server.base_url) as clients:
            for version in VERSIONS:
                publish(base, version)
                available[version] = _wait_available(http, version)
                _move(http, "canary", version, moves)
                if version % 5 == 0:  # a bad canary: roll stable back, then forward
                    _move(http, "stable", version - 1, moves)
                _move(http, "stable", version, moves)
            staging = write_versioned_model(tmp_path / "staging", SLOW_VERSION)
            copy_slowly(staging, base / str(SLOW_VERSION), chunks=6, pause_s=0.3)
            copied = time.monotonic()
            available[SLOW_VERSION] = _wait_available(http, SLOW_VERSION)
            time.sleep(0.5)  # some answers from the last version too
        final = _statuses(http)
        persisted = config.read_text()

    answers = clients.answers
    failed = [a for a in answers if a.status != 200]
    assert not failed, f"{len(failed)} of {len(answers)} requests failed, e.g. {failed[:3]}"
    assert {a.target for a in answers} == set(TARGETS)
    served = {a.version for a in answers if a.version is not None}
    assert served <= set(available), f"answers from versions never seen AVAILABLE: {served}"
    for version in served:
        assert final[version]["status"] == {"error_code": "OK", "error_message": ""}
    assert final[SLOW_VERSION]["state"] == "AVAILABLE"
    # The load ran across the whole publishing, not just at one end of it.
    assert len(served) > len(VERSIONS) // 2, sorted(served)

    for answer in answers:
        assert answer.version is not None
        if answer.target == "latest":
            newest = max(v for v, seen in available.items() if seen < answer.start)
            assert answer.version >= newest, answer
        else:
            possible = _possible(moves, answer.target, answer.start, answer.end)
            assert answer.version in possible, (answer, possible)
        if answer.version == SLOW_VERSION:
            assert answer.end > copied, answer  # never served while half written

    # The admin API wrote every move to the config file: a restart keeps the last labels.
    assert f'key: "stable"\n      value: {VERSIONS[-1]}' in persisted
    assert f'key: "canary"\n      value: {VERSIONS[-1]}' in persisted
