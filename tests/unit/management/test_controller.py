"""ConfigController: TF Serving's reload semantics, the config file poll, and admin transactions
(reference §4.1, §4.2), over a real ServerCore loading fake-runtime models."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from pyserving.config.models import format_model_server_config, read_model_server_config
from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState
from pyserving.management.controller import ConfigController
from pyserving.management.edits import put_model, set_label
from pyserving.management.poller import start_config_poller
from pyserving.protos import any_pb2
from tests.unit.lifecycle.lifecycle_support import WAIT, eventually, fake_model, served, state_of
from tests.unit.management.management_support import Config, config_of, controlled, entry

S = ServableState


@pytest.fixture
def bases(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("a", "b", "broken")}
    fake_model(paths["a"], 1)
    fake_model(paths["a"], 2)
    fake_model(paths["b"], 1)
    fake_model(paths["broken"], 1, fail_load="cannot load", fail_code="DATA_LOSS")
    return paths


def _raised(call, *args, **kwargs) -> tuple[Code, str]:
    with pytest.raises(ServingError) as caught:
        call(*args, **kwargs)
    return caught.value.code, caught.value.message


_TRANSITION = (
    Code.FAILED_PRECONDITION,
    "Cannot transition to requested config. It is only legal to transition from one "
    "ModelConfigList to another.",
)


def test_empty_config_is_a_no_op_until_a_list_is_served(bases: dict[str, Path]) -> None:
    with controlled(Config()) as (controller, core, _):  # TF Serving starts with no models
        controller.reload(Config())
        assert core.model_names() == [] and controller.current() == Config()
        listed = config_of(entry("a", bases["a"]))
        controller.reload(listed, timeout=WAIT)
        assert served(core, "a") == 2
        # Once a list is served, only another list is acceptable: TF Serving rejects an empty
        # config then, rather than ignoring it.
        assert _raised(controller.reload, Config()) == _TRANSITION
        assert controller.current() == listed and served(core, "a") == 2


def test_reload_semantics(bases: dict[str, Path]) -> None:
    startup = config_of(entry("a", bases["a"]))
    with controlled(startup) as (controller, core, _):
        custom = Config()
        custom.custom_model_config.CopyFrom(any_pb2.Any(type_url="x/y"))
        assert _raised(controller.reload, custom) == _TRANSITION
        # A rejected config keeps the old state: here a platform change (TF's message).
        changed = config_of(entry("a", bases["a"], platform="tensorflow"), entry("b", bases["b"]))
        code, message = _raised(controller.reload, changed)
        assert code is Code.INVALID_ARGUMENT
        assert message.startswith("Illegal to change a model's platform. For model a ")
        assert controller.current() == startup and core.model_names() == ["a"]
        # A good reload blocks until the added model is AVAILABLE.
        both = config_of(entry("a", bases["a"]), entry("b", bases["b"]))
        controller.reload(both, timeout=WAIT)
        assert state_of(core, "b", 1) is S.AVAILABLE and served(core, "b") == 1
        # TF Serving keeps a config whose added model then fails to load.
        with_broken = config_of(entry("a", bases["a"]), entry("broken", bases["broken"]))
        assert _raised(controller.reload, with_broken, timeout=WAIT) == (
            Code.UNKNOWN,
            "1 model(s) did not become available: {{{name: broken version: 1} due to error: "
            "DATA_LOSS: cannot load}, }",
        )
        assert controller.current() == with_broken
        eventually(lambda: state_of(core, "b", 1) is S.END, what="b unloaded")


def test_listeners_hear_served_configs_only(bases: dict[str, Path]) -> None:
    served_configs: list[Config] = []
    startup = config_of(entry("a", bases["a"]))
    with controlled(startup, on_served=served_configs.append) as (controller, _, _):
        rejected = config_of(entry("a", bases["a"], stable=9))
        with pytest.raises(ServingError):
            controller.reload(rejected)
        with pytest.raises(ServingError):
            controller.change(put_model(entry("broken", bases["broken"])), timeout=WAIT)
        both = config_of(entry("a", bases["a"]), entry("b", bases["b"]))
        controller.reload(both, timeout=WAIT)
    with_broken = config_of(entry("a", bases["a"]), entry("broken", bases["broken"]))
    # The failed admin change was served (then undone): listeners hear both, in order.
    assert served_configs == [startup, with_broken, startup, both]


def test_labels_are_validated_like_tf_serving(bases: dict[str, Path]) -> None:
    startup = config_of(entry("a", bases["a"], policy="all"))
    labelled = config_of(entry("a", bases["a"], policy="all", stable=1, canary=3))
    with controlled(startup) as (controller, core, _):
        assert _raised(controller.reload, labelled) == (
            Code.FAILED_PRECONDITION,
            "Request to assign label to version 3 of model a, which is not currently available "
            "for inference",
        )
        assert controller.current() == startup
    with controlled(labelled, allow_version_labels_for_unavailable_models=True) as (_, core, _):
        eventually(lambda: state_of(core, "a", 1) is S.AVAILABLE)
        assert served(core, "a", label="stable") == 1


def test_startup_labels_fail_without_the_flag(bases: dict[str, Path]) -> None:
    startup = config_of(entry("a", bases["a"], stable=2))
    with pytest.raises(ServingError) as caught, controlled(startup):
        pass
    assert caught.value.code is Code.FAILED_PRECONDITION


def test_sync_with_file(
    bases: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "models.config"
    startup = config_of(entry("a", bases["a"]))
    path.write_text(format_model_server_config(startup))
    caplog.set_level(logging.INFO, logger="pyserving.config")
    with controlled(startup, config_file=path) as (controller, core, runtime):
        controller.sync_with_file()  # unchanged: nothing to do
        assert "Adding/updating models." not in caplog.text
        path.write_text("model_config_list { config { name: ")
        controller.sync_with_file()
        assert f"Failed to read ModelServerConfig file: Invalid protobuf file: '{path}'" in (
            caplog.text
        )
        bad = config_of(entry("a", bases["a"]), entry("b", bases["b"], stable=1))
        path.write_text(format_model_server_config(bad))
        controller.sync_with_file()
        assert (
            "PollFilesystemAndReloadConfig failed to ReloadConfig: Request to assign label to "
            "version 1 of model b" in caplog.text
        )
        assert controller.current() == startup and core.model_names() == ["a"]
        good = config_of(entry("b", bases["b"]))
        path.write_text(format_model_server_config(good))
        controller.sync_with_file()
        assert controller.current() == good and served(core, "b") == 1
        eventually(lambda: state_of(core, "a", 2) is S.END, what="a unloaded")
        loads = runtime.loads
        controller.sync_with_file()
        assert runtime.loads == loads


def test_admin_change_persists_or_undoes(bases: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "models.config"
    startup = config_of(entry("a", bases["a"]))
    path.write_text("# the user's own file\n" + format_model_server_config(startup))
    with controlled(startup, config_file=path) as (controller, core, _):
        edited = controller.change(put_model(entry("b", bases["b"])), timeout=WAIT)
        assert edited.created and served(core, "b") == 1  # AVAILABLE when change() returns
        assert read_model_server_config(str(path)) == controller.current()
        assert [e.name for e in controller.current().model_config_list.config] == ["a", "b"]
        written = path.read_text()

        # A change whose added model fails to load is undone; the file is left alone.
        with pytest.raises(ServingError) as caught:
            controller.change(put_model(entry("broken", bases["broken"])), timeout=WAIT)
        assert caught.value.code is Code.UNKNOWN
        assert "broken" not in core.model_names() and path.read_text() == written
        # So is a label the core rejects (version 9 is not loaded).
        assert _raised(controller.change, set_label("a", "stable", 9))[0] == (
            Code.FAILED_PRECONDITION
        )
        assert path.read_text() == written
        assert _raised(controller.change, set_label("nope", "stable", 1)) == (
            Code.NOT_FOUND,
            "Model nope is not in the model config",
        )
        # Not being able to write the file undoes the change as well.
        path.unlink()
        path.mkdir()  # a directory where the file was: os.replace fails
        code, message = _raised(controller.change, set_label("a", "stable", 2))
        assert (code, message.split(":")[0]) == (
            Code.INTERNAL,
            f"Could not write the model config file {path}",
        )
        with pytest.raises(ServingError):
            core.acquire("a", label="stable")


def test_admin_change_without_a_file_stays_in_memory(bases: dict[str, Path]) -> None:
    with controlled(config_of(entry("a", bases["a"]))) as (controller, core, _):
        controller.change(set_label("a", "stable", 2))
        assert served(core, "a", label="stable") == 2
        assert controller.config_file == ""


def test_changes_are_serialized(bases: dict[str, Path], tmp_path: Path) -> None:
    """A change waiting for a slow load holds the config lock: another change waits for it, or
    gives up at its own deadline without touching anything."""
    slow = tmp_path / "slow"
    fake_model(slow, 1, load_seconds=1.0)
    with controlled(config_of(entry("a", bases["a"]))) as (controller, core, _):
        adding = threading.Thread(
            target=controller.change, args=(put_model(entry("slow", slow)),), daemon=True
        )
        adding.start()
        eventually(lambda: "slow" in core.model_names(), what="slow added")
        assert _raised(controller.change, set_label("a", "x", 2), timeout=0.05) == (
            Code.DEADLINE_EXCEEDED,
            "Timed out waiting for another model config change to finish",
        )
        controller.change(put_model(entry("b", bases["b"])), timeout=WAIT)  # waits its turn
        assert not adding.is_alive()
        assert [e.name for e in controller.current().model_config_list.config] == [
            "a",
            "slow",
            "b",
        ]
        assert served(core, "slow") == 1


def test_poller_thread_applies_file_changes_and_stops(
    bases: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "models.config"
    startup = config_of(entry("a", bases["a"]))
    path.write_text(format_model_server_config(startup))
    with controlled(startup, config_file=path) as (controller, core, _):
        assert start_config_poller(controller, 0) is None  # 0: the file is read once
        assert start_config_poller(ConfigController(core), 1) is None  # no file to poll
        poller = start_config_poller(controller, 0.05)
        assert poller is not None
        try:
            path.write_text(format_model_server_config(config_of(entry("b", bases["b"]))))
            eventually(lambda: core.model_names() == ["b"], what="file change applied")
        finally:
            poller.stop()
        path.write_text(format_model_server_config(startup))
        time.sleep(0.2)  # several periods: a stopped poller applies nothing more
        assert core.model_names() == ["b"]
