"""Request resolution and GetModelStatus: TF Serving's exact codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState, VersionPolicy, VersionStatus
from pyserving.lifecycle.handle import LoadedServable
from pyserving.lifecycle.serving_map import ServingMap, StreamView
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.fake import FakeModel, FakeRuntime, FakeSpec
from tests.unit.lifecycle.lifecycle_support import (
    config,
    eventually,
    fake_model,
    running_core,
    served,
    state_of,
)

pytestmark = pytest.mark.timeout(30)


def servable(version: int) -> LoadedServable:
    return LoadedServable("m", version, FakeModel(FakeRuntime(), f"/m/{version}", FakeSpec()))


SERVING = ServingMap(
    {
        "m": StreamView({1: servable(1), 3: servable(3)}, {"stable": 1, "next": 4}),
        "empty": StreamView({}, {}),
    }
)


@pytest.mark.parametrize(
    ("name", "version", "label", "code", "message"),
    [
        ("", None, None, Code.INVALID_ARGUMENT, "ModelSpec has no name specified."),
        ("", 1, None, Code.INVALID_ARGUMENT, "ModelSpec has no name specified."),
        ("nope", None, None, Code.NOT_FOUND, "Servable not found for request: Latest(nope)"),
        ("empty", None, None, Code.NOT_FOUND, "Servable not found for request: Latest(empty)"),
        ("m", 2, None, Code.NOT_FOUND, "Servable not found for request: Specific(m, 2)"),
        ("nope", 7, None, Code.NOT_FOUND, "Servable not found for request: Specific(nope, 7)"),
        ("m", None, "beta", Code.INVALID_ARGUMENT, "Unrecognized servable version label: beta"),
        ("nope", None, "x", Code.INVALID_ARGUMENT, "Unrecognized servable version label: x"),
        ("m", None, "next", Code.NOT_FOUND, "Servable not found for request: Specific(m, 4)"),
    ],
)
def test_resolution_errors(
    name: str, version: int | None, label: str | None, code: Code, message: str
) -> None:
    with pytest.raises(ServingError) as caught:
        SERVING.resolve(name, version, label)
    assert (caught.value.code, caught.value.message) == (code, message)


@pytest.mark.parametrize(
    ("version", "label", "expected"), [(None, None, 3), (1, None, 1), (None, "stable", 1)]
)
def test_resolution(version: int | None, label: str | None, expected: int) -> None:
    assert SERVING.resolve("m", version, label).version == expected


def test_a_closed_servable_refuses_new_leases_but_keeps_old_ones() -> None:
    s = servable(1)
    first = s.try_lease()
    assert first is not None and s.leases == 1
    s.close()
    assert s.try_lease() is None
    assert not s.wait_drained(timeout=0.01)
    first.release()
    first.release()
    assert s.leases == 0 and s.wait_drained(timeout=0)


def test_core_acquire_and_status(tmp_path: Path) -> None:
    for version in (1, 2, 3):
        fake_model(tmp_path, version)
    fake_model(tmp_path, 4, fail_load="bad version", fail_code="INVALID_ARGUMENT")
    model = config("m", tmp_path, VersionPolicy.specific(2, 4), labels={"two": 2, "one": 1})
    with running_core([model], allow_version_labels_for_unavailable_models=True) as core:
        core.wait_until_ready(timeout=10)  # returns once v2 is AVAILABLE ...
        eventually(lambda: state_of(core, "m", 4) is ServableState.END, what="v4 END")
        assert served(core, "m", label="two") == 2
        assert served(core, "m") == 2
        for kwargs, code, message in [
            ({"version": 3}, Code.NOT_FOUND, "Servable not found for request: Specific(m, 3)"),
            ({"label": "one"}, Code.NOT_FOUND, "Servable not found for request: Specific(m, 1)"),
            ({"label": "x"}, Code.INVALID_ARGUMENT, "Unrecognized servable version label: x"),
        ]:
            with pytest.raises(ServingError) as caught:
                core.acquire("m", **kwargs)  # type: ignore[arg-type]
            assert (caught.value.code, caught.value.message) == (code, message)
        with pytest.raises(ValueError):
            core.acquire("m", version=2, label="two")

        assert core.model_status("m") == [
            VersionStatus(4, ServableState.END, Code.INVALID_ARGUMENT, "bad version"),
            VersionStatus(2, ServableState.AVAILABLE, Code.OK, ""),
        ]
        assert core.model_status("m", 2) == [VersionStatus(2, ServableState.AVAILABLE)]
        with pytest.raises(ServingError) as caught:
            core.model_status("m", 3)
        assert (caught.value.code, caught.value.message) == (
            Code.NOT_FOUND,
            "Could not find version 3 of model m",
        )
        with pytest.raises(ServingError) as caught:
            core.model_status("other")
        assert (caught.value.code, caught.value.message) == (
            Code.NOT_FOUND,
            "Could not find any versions of model other",
        )


def test_duplicate_model_names_are_rejected(tmp_path: Path) -> None:
    from pyserving.lifecycle import ServerCore

    core = ServerCore(load_options=LoadOptions())
    with pytest.raises(ServingError) as caught:
        core.start([config("m", tmp_path), config("m", tmp_path)])
    assert caught.value.message == "Illegal to list model m multiple times in config list"
    core.shutdown()
