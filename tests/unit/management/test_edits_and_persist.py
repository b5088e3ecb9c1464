"""The admin API's single-model edits (pure functions on configs) and the atomic config write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pyserving.config.models import read_model_server_config
from pyserving.errors import Code, ServingError
from pyserving.management.edits import delete_label, delete_model, put_model, set_label
from pyserving.management.persist import HEADER, LABELS_NOTE, write_config_atomically
from tests.unit.management.management_support import Config, config_of, entry

A, B = entry("a", Path("/m/a")), entry("b", Path("/m/b"), stable=1)


def _names(config: Config) -> list[str]:
    return [e.name for e in config.model_config_list.config]


def test_put_adds_at_the_end_or_replaces_in_place() -> None:
    served = config_of(A, B)
    (step,), added = put_model(entry("c", Path("/m/c")))(served)
    assert added.created and _names(step) == ["a", "b", "c"]
    replacement = entry("a", Path("/elsewhere"), policy="all")
    (step,), replaced = put_model(replacement)(served)
    assert not replaced.created and _names(step) == ["a", "b"]
    assert step.model_config_list.config[0] == replacement
    assert _names(served) == ["a", "b"]  # the served config itself is never modified


def test_put_of_a_new_labelled_model_loads_it_before_labelling() -> None:
    labelled = entry("c", Path("/m/c"), stable=3)
    (first, second), edited = put_model(labelled)(config_of(A))
    assert dict(first.model_config_list.config[1].version_labels) == {}
    assert second.model_config_list.config[1] == labelled == edited.model
    # An existing model is replaced in one step (TF Serving's label rule applies).
    steps, _ = put_model(entry("b", Path("/m/b"), stable=2))(config_of(A, B))
    assert len(steps) == 1
    # An empty served config (no list yet) gains one.
    (step,), _ = put_model(A)(Config())
    assert step.WhichOneof("config") == "model_config_list" and _names(step) == ["a"]


def test_label_and_delete_edits() -> None:
    served = config_of(A, B)
    (step,), edited = set_label("a", "canary", 4)(served)
    assert dict(step.model_config_list.config[0].version_labels) == {"canary": 4}
    assert edited.model.name == "a"
    (step,), edited = delete_label("b", "stable")(served)
    assert dict(step.model_config_list.config[1].version_labels) == {}
    (step,), edited = delete_model("a")(served)
    assert _names(step) == ["b"] and edited.model == A
    (step,), _ = delete_model("a")(config_of(A))
    assert step.WhichOneof("config") == "model_config_list" and _names(step) == []


@pytest.mark.parametrize(
    ("edit", "code", "message"),
    [
        (lambda: delete_model("zz"), Code.NOT_FOUND, "Model zz is not in the model config"),
        (lambda: set_label("zz", "x", 1), Code.NOT_FOUND, "Model zz is not in the model config"),
        (lambda: delete_label("a", "x"), Code.NOT_FOUND, "Model a has no version label x"),
        (lambda: set_label("a", "", 1), Code.INVALID_ARGUMENT, "A version label must not be empty"),
        (
            lambda: put_model(entry("", Path("/x"))),
            Code.INVALID_ARGUMENT,
            "A model config needs a name",
        ),
    ],
)
def test_edit_errors(edit, code: Code, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        edit()(config_of(A, B))
    assert (caught.value.code, caught.value.message) == (code, message)


def test_write_is_atomic_keeps_mode_and_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.config"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "models.config"
    link.symlink_to(real)
    config = config_of(A, B)
    write_config_atomically(str(link), config)
    assert link.is_symlink() and real.read_text().startswith(HEADER + LABELS_NOTE)
    assert read_model_server_config(str(link)) == config  # comments and all, it parses back
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    write_config_atomically(str(link), config_of(A))
    assert LABELS_NOTE not in real.read_text()  # only said when the config has labels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models.config", "real.config"]


def test_failed_write_leaves_what_was_there(tmp_path: Path) -> None:
    """``os.replace`` cannot put a file where a directory is (even as root): the write fails
    with INTERNAL naming the path, and no temporary file is left behind."""
    path = tmp_path / "models.config"
    path.mkdir()
    with pytest.raises(ServingError) as caught:
        write_config_atomically(str(path), config_of(A))
    assert caught.value.code is Code.INTERNAL
    assert caught.value.message.startswith(f"Could not write the model config file {path}: ")
    assert path.is_dir() and [p.name for p in tmp_path.iterdir()] == ["models.config"]
