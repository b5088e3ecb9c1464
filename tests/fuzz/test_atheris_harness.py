"""The atheris harness runs every target (a few hundred inputs each here; ``make fuzz``: 10^5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.atheris_targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", list(TARGETS))
def test_target_runs_clean(target: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_targets", target, "-runs=300", "-seed=17"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Done 300 runs" in run.stderr
