"""Start-up time and resident memory of one server process serving one model.

Usage: python startup.py BIN_DIR MODEL_BASE_PATH [RUNS]

Starts ``BIN_DIR/pyserving serve MODEL_BASE_PATH`` (platform detected: a SavedModel or a
model.onnx) RUNS times (default 3) and prints, as JSON, the median seconds from process start to the
first successful status answer with the version AVAILABLE, and the median resident set (VmRSS)
right after it. Run it with ``.onnx-venv/bin`` (no TensorFlow installed) and ``.venv/bin``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from systems import free_port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def once(bin_dir: Path, base: Path) -> tuple[float, float]:
    rest, grpc_port = free_port(), free_port()
    name = base.name
    ports = [f"--port={grpc_port}", f"--rest-port={rest}"]
    args = [str(bin_dir / "pyserving"), "serve", *ports, str(base)]
    started = time.monotonic()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        url = f"http://127.0.0.1:{rest}/v1/models/{name}"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if b"AVAILABLE" in response.read():
                        break
            except OSError:
                pass
            time.sleep(0.01)
        ready = time.monotonic() - started
        return ready, _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    bin_dir, base = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    samples = [once(bin_dir, base) for _ in range(runs)]
    print(
        json.dumps(
            {
                "model": str(base),
                "ready_s": round(statistics.median(s[0] for s in samples), 2),
                "rss_mb": round(statistics.median(s[1] for s in samples), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
