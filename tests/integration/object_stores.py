"""Real object stores on loopback for the storage tests: moto's S3 server and a GCS emulator.

Each runs as a child process on an ephemeral port. Tests upload with s3fs/gcsfs pointed at the
server explicitly (nothing in this process's environment changes); the model server gets the
standard variables (``AWS_ENDPOINT_URL``..., ``STORAGE_EMULATOR_HOST``) from :attr:`env`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import BIN, free_port

START_TIMEOUT_S = 60.0
KEY_ID = "testing-key"
SECRET = "testing-secret"


class StoreProcess:
    """A store server in a child process; :meth:`stop` and :meth:`start` again keep the port."""

    def __init__(self, probe_path: str, extra_env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._probe = probe_path
        self._extra_env = dict(extra_env or {})
        self._log = tempfile.NamedTemporaryFile(prefix="pyserving-store-", suffix=".log")  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        env = dict(os.environ, **self._extra_env)
        self.process = subprocess.Popen(
            self.command(), stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command()} exited:\n{self.output}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(self.url + self._probe, timeout=2.0)
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.command()} did not answer in {START_TIMEOUT_S}s:\n{self.output}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @property
    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")


class MotoServer(StoreProcess):
    """moto's S3 (and IAM) server. ``initial_no_auth_actions`` turns IAM checks on after that
    many requests (moto's ``INITIAL_NO_AUTH_ACTION_COUNT``)."""

    def __init__(self, initial_no_auth_actions: int | None = None) -> None:
        extra = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
        if initial_no_auth_actions is not None:
            extra["INITIAL_NO_AUTH_ACTION_COUNT"] = str(initial_no_auth_actions)
        super().__init__("/moto-api/", extra)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def env(self, key_id: str = KEY_ID, secret: str = SECRET) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def filesystem(self, key_id: str = KEY_ID, secret: str = SECRET) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            key=key_id,
            secret=secret,
            endpoint_url=self.url,
            use_listings_cache=False,
            skip_instance_cache=True,
        )


class GcsEmulator(StoreProcess):
    """gcp-storage-emulator (in memory)."""

    def __init__(self) -> None:
        super().__init__("/storage/v1/b")

    def command(self) -> list[str]:
        program = str(BIN / "gcp-storage-emulator")
        return [program, "start", "--host", "127.0.0.1", "--port", str(self.port), "--in-memory"]

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.url}

    def filesystem(self) -> Any:
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(
            endpoint_url=self.url, token="anon", use_listings_cache=False, skip_instance_cache=True
        )


@contextlib.contextmanager
def running(store: StoreProcess) -> Iterator[StoreProcess]:
    store.start()
    try:
        yield store
    finally:
        store.stop()


def upload_dir(fs: Any, local: Path, remote: str, *, order: list[str] | None = None,
               pause_s: float = 0.0) -> None:  # fmt: skip
    """Upload every file under ``local`` to ``remote`` (``bucket/prefix``), one object at a
    time, in ``order`` (relative paths; default sorted) with ``pause_s`` after each object."""
    names = order or sorted(
        p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()
    )
    for name in names:
        fs.pipe(f"{remote}/{name}", (local / name).read_bytes())
        if pause_s:
            time.sleep(pause_s)


def model_files(local: Path) -> list[str]:
    return sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
