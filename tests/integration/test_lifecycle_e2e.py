"""End to end: the version lifecycle of a real server process (reference §5, §10 items 7-10).

Each test copies ``saved_model_half_plus_two_cpu/00000123`` into its own base path, starts
``tensorflow_model_server`` on it (latest-1 policy, 1 s polling, one quick load retry) and then
adds, breaks, half-writes or deletes version directories while the server runs.

Time bounds are generous upper limits for "eventually": a new version must be *seen* (appear in
the model status) within two poll periods plus some slack, and be AVAILABLE within a generous load
allowance after that. Nothing asserts how fast anything is.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import ServerProcess, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MODEL = "hp2"
POLL_S = 1.0
RETRY_MICROS = 100_000
# A version is seen by the second look after it appears (the source wants two identical looks).
PICKUP_SLACK_S = 5.0
PICKUP_S = 2 * POLL_S + PICKUP_SLACK_S
# Loading half_plus_two takes well under a second; this only bounds "eventually" on a busy machine.
LOAD_ALLOWANCE_S = 30.0
OK_STATUS = {"error_code": "OK", "error_message": ""}
PREDICT_BODY = {"instances": [2.0]}
EXPECTED_PREDICTION = {"predictions": [3.0]}


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def version_dir(shared_models: Path) -> Path:
    return shared_models / "saved_model_half_plus_two_cpu" / "00000123"


@contextlib.contextmanager
def serve(base: Path) -> Iterator[ServerProcess]:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={base}",
        f"--file_system_poll_wait_seconds={POLL_S:.0f}",
        "--max_num_load_retries=1",
        f"--load_retry_interval_micros={RETRY_MICROS}",
    ]
    with running_server(args, f"/v1/models/{MODEL}") as server:
        yield server


def publish(base: Path, version: int, source: Path) -> Path:
    """Add a version the way a careful exporter does: copy under a non-numeric name, rename."""
    staging = base / f".tmp-{version}"
    shutil.copytree(source, staging)
    final = base / str(version)
    os.rename(staging, final)
    return final


def status_rows(server: ServerProcess, version: int | None = None) -> list[dict[str, Any]]:
    path = f"/v1/models/{MODEL}" + ("" if version is None else f"/versions/{version}")
    response = httpx.get(server.base_url + path, timeout=10)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    rows: list[dict[str, Any]] = response.json()["model_version_status"]
    return rows


def states(server: ServerProcess) -> dict[int, str]:
    return {int(row["version"]): row["state"] for row in status_rows(server)}


def row_of(server: ServerProcess, version: int) -> dict[str, Any] | None:
    return next((r for r in status_rows(server) if r["version"] == str(version)), None)


def predict(server: ServerProcess, version: int | None = None) -> httpx.Response:
    path = f"/v1/models/{MODEL}" + ("" if version is None else f"/versions/{version}")
    return httpx.post(f"{server.base_url}{path}:predict", json=PREDICT_BODY, timeout=10)


def assert_serves(server: ServerProcess, version: int | None = None) -> None:
    response = predict(server, version)
    assert response.status_code == 200, response.text
    assert response.json() == EXPECTED_PREDICTION


def eventually(
    server: ServerProcess, check: Callable[[], bool], timeout: float, what: str
) -> float:
    """Poll ``check`` until true; returns the seconds it took. Fails with status and log."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(
                f"not within {timeout:.0f} s: {what}; status now {states(server)}\n"
                f"server log:\n{server.output}"
            )
        time.sleep(0.1)
    return time.monotonic() - start


def wait_states(server: ServerProcess, expected: dict[int, str], timeout: float) -> None:
    def reached() -> bool:
        now = states(server)
        return all(now.get(v) == s for v, s in expected.items())

    eventually(server, reached, timeout, f"states {expected}")


def wait_picked_up_and_available(server: ServerProcess, version: int) -> None:
    """The new version shows up within two poll periods (+ slack), then becomes AVAILABLE."""
    eventually(server, lambda: version in states(server), PICKUP_S, f"version {version} seen")
    wait_states(server, {version: "AVAILABLE"}, LOAD_ALLOWANCE_S)


def failed_load_lines(output: str, version: int) -> list[str]:
    """Log lines that report a failure or error about ``version`` (``version: N`` or ``/N``)."""
    about = re.compile(rf"(version:? {version}\b|/{version}\b)")
    failure = re.compile(r"fail|error", re.IGNORECASE)
    return [line for line in output.splitlines() if about.search(line) and failure.search(line)]


class Prober(threading.Thread):
    """Predicts non-stop (and samples which versions are AVAILABLE) until halted or a deadline."""

    def __init__(self, server: ServerProcess, max_seconds: float = 90.0) -> None:
        super().__init__(name="e2e-prober", daemon=True)
        self._url = server.base_url
        self._max_seconds = max_seconds
        self._halt = threading.Event()
        self.predictions = 0
        self.failures: list[str] = []
        self.available_sets: list[frozenset[int]] = []

    def run(self) -> None:
        deadline = time.monotonic() + self._max_seconds
        with httpx.Client(base_url=self._url, timeout=10) as client:
            while not self._halt.is_set() and time.monotonic() < deadline:
                try:
                    answer = client.post(f"/v1/models/{MODEL}:predict", json=PREDICT_BODY)
                    if answer.status_code != 200 or answer.json() != EXPECTED_PREDICTION:
                        self.failures.append(f"predict: {answer.status_code} {answer.text}")
                    self.predictions += 1
                    status = client.get(f"/v1/models/{MODEL}")
                    if status.status_code != 200:
                        self.failures.append(f"status: {status.status_code} {status.text}")
                        continue
                    rows = status.json()["model_version_status"]
                    self.available_sets.append(
                        frozenset(int(r["version"]) for r in rows if r["state"] == "AVAILABLE")
                    )
                except (httpx.HTTPError, ValueError) as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)

    def wait_predictions(self, server: ServerProcess, count: int) -> None:
        target = self.predictions + count
        eventually(server, lambda: self.predictions >= target, 30, f"{count} more predictions")

    def halt(self) -> None:
        self._halt.set()
        self.join(timeout=30)
        assert not self.is_alive(), "prober thread did not stop"


@contextlib.contextmanager
def probing(server: ServerProcess) -> Iterator[Prober]:
    prober = Prober(server)
    prober.start()
    try:
        yield prober
    finally:
        prober.halt()


def assert_always_served_by(prober: Prober, allowed: set[int]) -> None:
    assert prober.failures == []
    assert prober.available_sets, "the prober never sampled the status"
    odd = [sorted(s) for s in prober.available_sets if not s or not s <= allowed]
    assert odd == [], f"AVAILABLE sets outside non-empty subsets of {sorted(allowed)}"


# -- tests -------------------------------------------------------------------------------------


def test_new_version_replaces_old_without_a_gap(tmp_path: Path, version_dir: Path) -> None:
    base = tmp_path / MODEL
    base.mkdir()
    shutil.copytree(version_dir, base / "00000123")
    with serve(base) as server:
        assert status_rows(server) == [
            {"version": "123", "state": "AVAILABLE", "status": OK_STATUS}
        ]
        with probing(server) as prober:
            prober.wait_predictions(server, 5)  # traffic flows before the swap...
            publish(base, 124, version_dir)
            wait_picked_up_and_available(server, 124)
            wait_states(server, {123: "END"}, LOAD_ALLOWANCE_S)
            prober.wait_predictions(server, 5)  # ...and after it
        assert_always_served_by(prober, {123, 124})
        assert 123 in prober.available_sets[0]
        assert prober.available_sets[-1] == {124}

        # Highest version first; the unloaded version stays listed as END with an OK status.
        assert status_rows(server) == [
            {"version": "124", "state": "AVAILABLE", "status": OK_STATUS},
            {"version": "123", "state": "END", "status": OK_STATUS},
        ]
        assert status_rows(server, 124) == [
            {"version": "124", "state": "AVAILABLE", "status": OK_STATUS}
        ]
        assert_serves(server)
        assert_serves(server, 124)
        assert predict(server, 123).status_code == 404


def test_broken_version_ends_with_its_error_and_old_keeps_serving(
    tmp_path: Path, version_dir: Path
) -> None:
    base = tmp_path / MODEL
    base.mkdir()
    shutil.copytree(version_dir, base / "00000123")
    shutil.copytree(version_dir, base / "124")
    with serve(base) as server:
        assert states(server).get(124) == "AVAILABLE"
        assert states(server).get(123) != "AVAILABLE"  # latest-1: only the highest is served
        staging = base / ".tmp-125"
        (staging / "variables").mkdir(parents=True)
        # 'n' (0x6e) starts a field with wire type 6, which does not exist: never parses.
        (staging / "saved_model.pb").write_bytes(b"not a SavedModel protobuf\n" * 8)
        with probing(server) as prober:
            os.rename(staging, base / "125")
            eventually(server, lambda: 125 in states(server), PICKUP_S, "version 125 seen")
            wait_states(server, {125: "END"}, LOAD_ALLOWANCE_S)
            failed = row_of(server, 125)
            # A failed version is not retried while it stays aspired: it stays END, same error.
            deadline = time.monotonic() + 2.5 * POLL_S
            while time.monotonic() < deadline:
                assert row_of(server, 125) == failed
                time.sleep(0.2)
        assert_always_served_by(prober, {124})

        assert failed is not None
        assert failed["state"] == "END"
        assert failed["status"]["error_code"] != "OK"
        assert failed["status"]["error_message"].strip()
        assert status_rows(server, 124) == [
            {"version": "124", "state": "AVAILABLE", "status": OK_STATUS}
        ]
        assert status_rows(server, 125) == [failed]
        assert_serves(server)
        assert_serves(server, 124)
        assert predict(server, 125).status_code == 404


def test_half_written_version_is_loaded_only_once_complete(
    tmp_path: Path, version_dir: Path
) -> None:
    base = tmp_path / MODEL
    base.mkdir()
    shutil.copytree(version_dir, base / "00000123")
    target = base / "126"
    early = ("LOADING", "AVAILABLE", "UNLOADING", "END")

    def observe(server: ServerProcess, seconds: float, moment: str) -> None:
        """For ``seconds``: 123 keeps serving and 126 is not loaded (at most aspired)."""
        deadline = time.monotonic() + seconds
        while True:
            now = states(server)
            assert now.get(123) == "AVAILABLE", f"{moment}: {now}"
            assert now.get(126) not in early, f"126 loaded {moment}: {now}\n{server.output}"
            if time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    with serve(base) as server:
        (target / "variables").mkdir(parents=True)  # no saved_model.pb yet
        observe(server, 3 * POLL_S + 0.5, "with only variables/")

        # Write the files one at a time, the graph in two halves, the assets after the graph;
        # each pause is shorter than a poll period, so no two looks see the same files.
        files = sorted(p.relative_to(version_dir) for p in version_dir.rglob("*") if p.is_file())
        graph = Path("saved_model.pb")
        data = (version_dir / graph).read_bytes()
        half = len(data) // 2
        writes: list[tuple[Path, bytes, str]] = [
            (f, (version_dir / f).read_bytes(), "wb")
            for f in files
            if f != graph and f.parts[0] != "assets"
        ]
        writes += [(graph, data[:half], "wb"), (graph, data[half:], "ab")]
        writes += [
            (f, (version_dir / f).read_bytes(), "wb") for f in files if f.parts[0] == "assets"
        ]
        assert writes[-1][0] != graph, "the test wants a file written after saved_model.pb"
        for relative, content, mode in writes:
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, mode) as handle:
                handle.write(content)
            observe(server, 0.5, f"after writing {relative} ({mode})")

        wait_picked_up_and_available(server, 126)
        wait_states(server, {123: "END"}, LOAD_ALLOWANCE_S)
        assert_serves(server)
        assert_serves(server, 126)
        assert row_of(server, 126) == {"version": "126", "state": "AVAILABLE", "status": OK_STATUS}
        assert failed_load_lines(server.output, 126) == []


def test_deleting_version_dirs_unloads_them(tmp_path: Path, version_dir: Path) -> None:
    base = tmp_path / MODEL
    base.mkdir()
    shutil.copytree(version_dir, base / "00000123")
    shutil.copytree(version_dir, base / "124")
    with serve(base) as server:
        assert states(server).get(124) == "AVAILABLE"

        # Removing the newest version makes the next-highest aspired again (latest-1): it is
        # loaded, and only then is the removed one unloaded.
        with probing(server) as prober:
            prober.wait_predictions(server, 5)
            shutil.rmtree(base / "124")
            wait_states(server, {123: "AVAILABLE", 124: "END"}, PICKUP_S + LOAD_ALLOWANCE_S)
            prober.wait_predictions(server, 5)
        assert_always_served_by(prober, {123, 124})
        assert prober.available_sets[-1] == {123}
        assert status_rows(server) == [
            {"version": "124", "state": "END", "status": OK_STATUS},
            {"version": "123", "state": "AVAILABLE", "status": OK_STATUS},
        ]
        assert_serves(server)
        assert predict(server, 124).status_code == 404

        # Emptying the base path un-aspires the last version: it is unloaded, nothing serves,
        # and the status keeps both versions as END.
        shutil.rmtree(base / "00000123")
        wait_states(server, {123: "END", 124: "END"}, PICKUP_S + LOAD_ALLOWANCE_S)
        assert status_rows(server) == [
            {"version": "124", "state": "END", "status": OK_STATUS},
            {"version": "123", "state": "END", "status": OK_STATUS},
        ]
        response = predict(server)
        assert response.status_code == 404, response.text
        assert "Servable not found for request" in response.json()["error"]
        assert server.process.poll() is None
