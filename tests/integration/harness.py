"""A real server process on ephemeral ports, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``tensorflow_model_server`` (or ``pyserving``) running in a child process.

    Output goes to a log file whose text is available as :attr:`output`, so a failing test can
    show what the server said.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        program: str = "tensorflow_model_server",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.grpc_port = free_port()
        self.rest_port = free_port()
        self.args = [
            str(BIN / program),
            *(a.format(grpc_port=self.grpc_port, rest_port=self.rest_port) for a in args),
        ]
        # PYSERVING_TEST_GRPC_SERVER=grpcio (or zttp) runs every server of the suite on that gRPC
        # stack (tests that choose a stack themselves keep their choice).
        stack = os.environ.get("PYSERVING_TEST_GRPC_SERVER")
        chosen = any(a.startswith("--grpc_server=") for a in self.args)
        if stack and program == "tensorflow_model_server" and not chosen:
            self.args.append(f"--grpc_server={stack}")
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="pyserving-test-", suffix=".log", delete=False
        )
        environ = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **(env or {}))
        self.process = subprocess.Popen(
            self.args, stdout=self._log, stderr=subprocess.STDOUT, env=environ
        )
        self.base_url = f"http://127.0.0.1:{self.rest_port}"

    @property
    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def wait_for_rest(self, probe_path: str, timeout: float = START_TIMEOUT_S) -> None:
        """Block until ``GET probe_path`` answers (any status), or fail with the server log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(self.base_url + probe_path, timeout=2.0)
                return
            time.sleep(0.1)
        raise RuntimeError(f"server did not open its REST port in {timeout}s:\n{self.output}")

    def wait_exit(self, timeout: float = START_TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@contextlib.contextmanager
def running_server(
    args: Sequence[str],
    probe_path: str,
    *,
    program: str = "tensorflow_model_server",
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    server = ServerProcess(args, program=program, env=env)
    try:
        server.wait_for_rest(probe_path)
        yield server
    finally:
        server.stop()
