"""Shared fixtures: where the TF Serving test models live."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_MODELS = (PROJECT_ROOT.parent / "shared" / "testdata" / "tfserving").resolve()


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """TF Serving's own test models (read-only: copy before mutating)."""
    if not SHARED_MODELS.is_dir():
        pytest.fail(f"TF Serving test models not found at {SHARED_MODELS}")
    return SHARED_MODELS
