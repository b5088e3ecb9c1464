"""Run-time config changes pass the base-path allowlist (every entry point goes through the
controller) and each one leaves an audit line naming the caller."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.management.audit import describe
from pyserving.management.edits import delete_model, put_model
from pyserving.security.allowlist import BasePathAllowlist
from pyserving.security.caller import CALLER
from tests.unit.lifecycle.lifecycle_support import WAIT, fake_model
from tests.unit.management.management_support import config_of, controlled, entry


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    inside, outside = tmp_path / "models", tmp_path / "elsewhere"
    fake_model(inside / "a", 1)
    fake_model(inside / "b", 1)
    fake_model(outside / "c", 1)
    return inside, outside


def test_changes_outside_the_allowlist_are_refused_and_audited(
    roots: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    inside, outside = roots
    startup = config_of(entry("a", inside / "a"))
    caplog.set_level(logging.INFO, logger="pyserving.audit")
    with controlled(startup, allowlist=BasePathAllowlist([str(inside)])) as (controller, _, _):
        token = CALLER.set("deployer")
        try:
            with pytest.raises(ServingError) as caught:
                controller.change(put_model(entry("c", outside / "c")), timeout=WAIT)
            assert caught.value.code is Code.PERMISSION_DENIED
            with pytest.raises(ServingError) as caught:
                controller.reload(
                    config_of(entry("a", inside / "a"), entry("c", outside / "c")), timeout=WAIT
                )
            assert caught.value.code is Code.PERMISSION_DENIED
            assert [e.name for e in controller.current().model_config_list.config] == ["a"]

            controller.change(put_model(entry("b", inside / "b")), timeout=WAIT)
            controller.change(delete_model("b"), timeout=WAIT, action="V2 repository unload")
        finally:
            CALLER.reset(token)
    lines = [r.getMessage() for r in caplog.records if r.name == "pyserving.audit"]
    assert lines[0].startswith(f"admin change by deployer via admin API: added c={outside / 'c'}")
    assert "-> failed: PERMISSION_DENIED" in lines[0]
    assert lines[1].startswith("admin change by deployer via HandleReloadConfigRequest: added c=")
    assert lines[2] == f"admin change by deployer via admin API: added b={inside / 'b'} -> ok"
    assert lines[3] == "admin change by deployer via V2 repository unload: removed b -> ok"


def test_served_paths_may_be_resent_even_outside_the_allowlist(roots: tuple[Path, Path]) -> None:
    inside, outside = roots
    startup = config_of(entry("c", outside / "c"))  # the operator's start-up config
    with controlled(startup, allowlist=BasePathAllowlist([str(inside)])) as (controller, _, _):
        controller.reload(config_of(entry("c", outside / "c")), timeout=WAIT)
        controller.change(put_model(entry("a", inside / "a")), timeout=WAIT)


def test_describe_names_added_removed_and_changed_models(tmp_path: Path) -> None:
    before = config_of(entry("a", tmp_path / "a"), entry("b", tmp_path / "b"))
    after = config_of(entry("a", tmp_path / "a2"), entry("c", tmp_path / "c"))
    assert describe(before, after) == (
        f"added c={tmp_path / 'c'}; removed b; changed a={tmp_path / 'a2'}"
    )
    assert describe(before, before) == "no change"
