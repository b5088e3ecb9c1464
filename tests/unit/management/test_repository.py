"""ModelRepository: the V2 repository extension over the admin operations (fake-runtime models
on a real ServerCore): index rows, unload then load back, load from an entry, failures undone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.management.repository import IndexEntry, ModelRepository
from tests.unit.lifecycle.lifecycle_support import WAIT, fake_model, served
from tests.unit.management.management_support import config_of, controlled, entry


@pytest.fixture
def bases(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("a", "b", "broken")}
    fake_model(paths["a"], 1)
    fake_model(paths["b"], 3)
    fake_model(paths["broken"], 1, fail_load="cannot load", fail_code="DATA_LOSS")
    return paths


def test_index_unload_and_load_back(bases: dict[str, Path], tmp_path: Path) -> None:
    file = tmp_path / "models.config"
    with controlled(config_of(entry("a", bases["a"])), config_file=file) as (controller, core, _):
        repository = ModelRepository(controller, core.model_status)
        assert repository.index() == [IndexEntry("a", "1", "READY")]
        assert repository.platform("a") == "fake"

        repository.unload("a", timeout=WAIT)
        assert core.model_names() == []
        assert 'name: "a"' not in file.read_text()  # written back like any admin change
        assert repository.index() == [IndexEntry("a", "", "UNAVAILABLE", "unloaded")]
        assert repository.index(ready_only=True) == []
        repository.unload("a", timeout=WAIT)  # again: nothing to do

        repository.load("a", timeout=WAIT)  # as it was before, without an entry
        assert served(core, "a") == 1
        repository.load("a", timeout=WAIT)  # served already: nothing to do
        assert repository.index() == [IndexEntry("a", "1", "READY")]


def test_load_a_new_model_from_its_entry(bases: dict[str, Path]) -> None:
    with controlled(config_of(entry("a", bases["a"]))) as (controller, core, _):
        repository = ModelRepository(controller, core.model_status)
        with pytest.raises(ServingError) as caught:
            repository.load("b", timeout=WAIT)
        assert caught.value.code == Code.NOT_FOUND
        assert '"config" parameter' in caught.value.message
        repository.load("b", entry("b", bases["b"]), timeout=WAIT)
        assert served(core, "b") == 3
        with pytest.raises(ServingError) as caught:
            repository.load("c", entry("b", bases["b"]), timeout=WAIT)
        assert caught.value.code == Code.INVALID_ARGUMENT


def test_a_failed_load_is_undone(bases: dict[str, Path]) -> None:
    with controlled(config_of(entry("a", bases["a"]))) as (controller, core, _):
        repository = ModelRepository(controller, core.model_status)
        with pytest.raises(ServingError):
            repository.load("broken", entry("broken", bases["broken"]), timeout=WAIT)
        assert [e.name for e in controller.current().model_config_list.config] == ["a"]
        assert [row.name for row in repository.index()] == ["a"]
