"""Reload validation in the core: version labels, platform changes, atomic label moves, and
waiting for added models (reference §4.1, §4.2; TF Serving's server_core.cc)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ModelConfig, ServableState, ServerCore, VersionPolicy
from pyserving.lifecycle.core import STARTUP_LABELS_HINT
from pyserving.runtimes.base import LoadOptions
from tests.unit.lifecycle.lifecycle_support import (
    WAIT,
    config,
    eventually,
    fake_model,
    running_core,
    served,
    state_of,
)

S = ServableState


def _label_error(version: int, name: str = "m") -> tuple[Code, str]:
    return (
        Code.FAILED_PRECONDITION,
        f"Request to assign label to version {version} of model {name}, "
        "which is not currently available for inference",
    )


def _raised(call, *args, **kwargs) -> tuple[Code, str]:
    with pytest.raises(ServingError) as caught:
        call(*args, **kwargs)
    return caught.value.code, caught.value.message


def _both(tmp_path: Path, **labels: int) -> ModelConfig:
    return config("m", tmp_path, VersionPolicy.all(), labels=labels)


@pytest.fixture
def two_versions(tmp_path: Path) -> Path:
    for version in (1, 2):
        fake_model(tmp_path, version)
    return tmp_path


def test_startup_labels_need_the_flag(two_versions: Path) -> None:
    core = ServerCore(load_options=LoadOptions())
    try:
        code, message = _label_error(1)
        hint = "start with --allow_version_labels_for_unavailable_models to accept labels"
        assert _raised(core.start, [_both(two_versions, stable=1)]) == (
            code,
            message + STARTUP_LABELS_HINT,
        )
        assert hint in STARTUP_LABELS_HINT
        assert core.model_names() == []  # nothing was started
    finally:
        core.shutdown()
    with running_core(
        [_both(two_versions, stable=1)], allow_version_labels_for_unavailable_models=True
    ) as core:
        core.wait_until_ready(timeout=WAIT)
        eventually(lambda: state_of(core, "m", 1) is S.AVAILABLE)
        assert served(core, "m", label="stable") == 1


def test_labels_must_name_available_versions_and_a_rejected_reload_changes_nothing(
    two_versions: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other")
    fake_model(other, 1)
    with running_core([_both(two_versions)]) as core:
        eventually(lambda: state_of(core, "m", 1) is S.AVAILABLE is state_of(core, "m", 2))
        core.reload_config([_both(two_versions, stable=1, canary=2)])
        assert (served(core, "m", label="stable"), served(core, "m", label="canary")) == (1, 2)
        # One bad label (7 does not exist) rejects the whole list: the new model is not added
        # and the good label change is not applied either.
        rejected = [_both(two_versions, stable=2, canary=7), config("other", other)]
        assert _raised(core.reload_config, rejected) == _label_error(7)
        assert core.model_names() == ["m"]
        assert (served(core, "m", label="stable"), served(core, "m", label="canary")) == (1, 2)
        assert _raised(core.model_status, "other")[0] is Code.NOT_FOUND


def test_allow_flag_covers_only_new_or_unchanged_labels(two_versions: Path) -> None:
    with running_core(
        [_both(two_versions, stable=1, canary=9)],
        allow_version_labels_for_unavailable_models=True,
    ) as core:
        eventually(lambda: state_of(core, "m", 2) is S.AVAILABLE)
        # Unchanged (canary -> 9, never loaded) and new (beta -> 8) labels pass ...
        core.reload_config([_both(two_versions, stable=1, canary=9, beta=8)])
        # ... a label moving onto a version that is not available does not.
        moved = [_both(two_versions, stable=5, canary=9, beta=8)]
        assert _raised(core.reload_config, moved) == _label_error(5)
        # A label on a version that is not loaded resolves, then fails as TF Serving does.
        assert _raised(core.acquire, "m", label="canary") == (
            Code.NOT_FOUND,
            "Servable not found for request: Specific(m, 9)",
        )


def test_platform_change_is_rejected(two_versions: Path) -> None:
    with running_core([_both(two_versions)]) as core:
        eventually(lambda: state_of(core, "m", 2) is S.AVAILABLE)
        changed = ModelConfig("m", str(two_versions), "tensorflow", VersionPolicy.all())
        assert _raised(core.reload_config, [changed]) == (
            Code.INVALID_ARGUMENT,
            "Illegal to change a model's platform. For model m platform was fake and new "
            "platform requested is tensorflow",
        )
        assert served(core, "m") == 2


def test_label_moves_are_atomic_for_requests(two_versions: Path) -> None:
    """While labels flip between two AVAILABLE versions, every request through a label is served
    by one of them: never an unknown label, never a missing version."""
    with running_core([_both(two_versions)]) as core:
        eventually(lambda: state_of(core, "m", 1) is S.AVAILABLE is state_of(core, "m", 2))
        core.reload_config([_both(two_versions, stable=1, canary=2)])
        stop = threading.Event()
        seen: dict[str, set[int]] = {"stable": set(), "canary": set()}
        errors: list[BaseException] = []

        def client(label: str) -> None:
            try:
                while not stop.is_set():
                    seen[label].add(served(core, "m", label=label))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(label,)) for label in seen for _ in "ab"]
        for thread in threads:
            thread.start()
        everything = {"stable": {1, 2}, "canary": {1, 2}}
        try:
            for flip in range(5000):  # until the clients saw both versions through both labels
                stable, canary = (2, 1) if flip % 2 == 0 else (1, 2)
                core.reload_config([_both(two_versions, stable=stable, canary=canary)])
                time.sleep(0.001)  # let the clients run between flips
                if flip >= 100 and seen == everything:
                    break
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=WAIT)
        assert errors == []
        assert seen == everything


def test_waiting_for_added_models(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    fake_model(good, 1)
    fake_model(bad, 3, fail_load="broken on purpose", fail_code="DATA_LOSS")
    with running_core([config("good", good)]) as core:
        core.wait_until_ready(timeout=WAIT)
        ticket = core.reload_config([config("good", good), config("bad", bad)])
        assert ticket.added == ("bad",)
        assert _raised(
            core.wait_until_available, ticket.added, since=ticket.mark, timeout=WAIT
        ) == (
            Code.UNKNOWN,
            "1 model(s) did not become available: {{{name: bad version: 3} due to error: "
            "DATA_LOSS: broken on purpose}, }",
        )
        # Removed, fixed and added again: the old failure (before the new mark) is not counted.
        core.reload_config([config("good", good)])
        eventually(lambda: core.model_names() == ["good"])
        fake_model(bad, 4)
        ticket = core.reload_config([config("good", good), config("bad", bad)])
        core.wait_until_available(ticket.added, since=ticket.mark, timeout=WAIT)
        assert served(core, "bad") == 4
        assert core.reload_config([config("good", good), config("bad", bad)]).added == ()
