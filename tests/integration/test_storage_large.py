"""A 200 MB version downloaded from S3 (moto) with bounded memory.

Runs only with ``PYSERVING_LARGE_STORAGE_TESTS=1`` (``make test-storage-large``): it moves 400 MB
through loopback and holds 200 MB in moto's memory. The download runs in a fresh child process,
so its peak resident memory (``VmHWM``, which a new program starts afresh) is the download's alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.object_stores import MotoServer, running

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        os.environ.get("PYSERVING_LARGE_STORAGE_TESTS") != "1",
        reason="large download test: run `make test-storage-large`",
    ),
]

SIZE = 200 * 1024 * 1024
MEMORY_BOUND = 96 * 1024 * 1024  # far below the model's size: data streams to disk

_DOWNLOAD = """
import json, logging, sys, threading
logging.basicConfig(level=logging.INFO)
from pyserving.storage.cache import VersionCache
from pyserving.storage.fsspec_store import FsspecStore, make_filesystem

def peak_bytes():
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

uri, cache = sys.argv[1], sys.argv[2]
store = FsspecStore("s3", make_filesystem("s3"), VersionCache(cache))
store.snapshot(uri)  # connections and imports warmed up before the baseline
before = peak_bytes()
local = store.materialize(uri, threading.Event())
print(json.dumps({"local": local, "growth": peak_bytes() - before, "peak": peak_bytes()}))
"""


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(size // (1 << 20)):
            block = os.urandom(1 << 20)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_a_200_mb_version_downloads_with_bounded_memory(tmp_path: Path) -> None:
    data = tmp_path / "variables.data-00000-of-00001"
    expected = _write_random(data, SIZE)
    with running(MotoServer()) as store:
        assert isinstance(store, MotoServer)
        fs = store.filesystem()
        fs.mkdir("large")
        fs.put_file(str(data), "large/m/1/variables/variables.data-00000-of-00001")
        fs.pipe("large/m/1/saved_model.pb", b"graph")
        data.unlink()
        result = subprocess.run(
            [sys.executable, "-c", _DOWNLOAD, "s3://large/m/1", str(tmp_path / "cache")],
            env=dict(os.environ, **store.env()),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(*(line for line in result.stderr.splitlines() if "Download" in line), sep="\n")
    print(f"peak memory growth during the download: {outcome['growth'] / 2**20:.1f} MB")
    local = Path(outcome["local"])
    assert _sha256(local / "variables" / "variables.data-00000-of-00001") == expected
    assert outcome["growth"] < MEMORY_BOUND, f"peak memory grew {outcome['growth'] / 2**20:.0f} MB"
