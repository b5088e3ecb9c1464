"""Fixtures of the REST front door's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner
from tests.unit.lifecycle.lifecycle_support import config, fake_model, running_core


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServingService]:
    """A core service over the fake model ``m`` (version 1), models run on two threads."""
    fake_model(tmp_path / "m", 1)
    with (
        running_core([config("m", tmp_path / "m")]) as core,
        ThreadPoolExecutor(max_workers=2) as executor,
    ):
        core.wait_until_ready()
        yield ServingService(core, ThreadRunner(executor))
