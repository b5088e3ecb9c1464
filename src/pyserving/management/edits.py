"""The admin API's edits: add, replace or remove ONE model, set or remove ONE version label,
without resending the whole config (tensorflow/serving#1301, #380).

Each function returns a :data:`~pyserving.management.controller.Change` for
:meth:`ConfigController.change`, which runs it under the config lock on the served config, so
concurrent edits of different models never lose each other's changes. The edited configs then go
through exactly the validation of a full reload: TF Serving's label rule included (a label may
only be moved onto an AVAILABLE version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyserving.errors import invalid_argument, not_found
from pyserving.management.controller import Change, Config
from pyserving.protos import model_server_config_pb2

Entry = model_server_config_pb2.ModelConfig


@dataclass(frozen=True, slots=True)
class Edited:
    """The outcome of an edit: the model's config afterwards (or as removed), and whether the
    edit added the model."""

    model: Entry
    created: bool = False


def find_model(config: Config, name: str) -> Entry:
    """The entry of ``name`` in ``config``; NOT_FOUND naming it otherwise."""
    for entry in config.model_config_list.config:
        if entry.name == name:
            return entry
    raise not_found(f"Model {name} is not in the model config")


def put_model(entry: Entry) -> Change[Edited]:
    """Add ``entry`` (or replace the entry of the same name).

    A new model with labels is applied in two steps: first without labels (the controller waits
    until it is AVAILABLE), then with them, since a label may only name a loaded version. An
    existing model is replaced in one step (labels it moves must name AVAILABLE versions).
    """
    if not entry.name:
        raise invalid_argument("A model config needs a name")
    wanted = _copy_entry(entry)

    def edit(config: Config) -> tuple[Sequence[Config], Edited]:
        created = not any(e.name == wanted.name for e in config.model_config_list.config)
        final = _with_entry(config, wanted)
        if not created or not wanted.version_labels:
            return [final], Edited(wanted, created)
        unlabelled = _copy_entry(wanted)
        unlabelled.ClearField("version_labels")
        return [_with_entry(config, unlabelled), final], Edited(wanted, created)

    return edit


def delete_model(name: str) -> Change[Edited]:
    """Remove ``name``; its versions unload in the background (as when a reload drops it)."""

    def edit(config: Config) -> tuple[Sequence[Config], Edited]:
        removed = _copy_entry(find_model(config, name))
        result = _list_copy(config)
        entries = result.model_config_list.config
        kept = [e for e in entries if e.name != name]
        del entries[:]
        entries.extend(kept)
        return [result], Edited(removed)

    return edit


def set_label(name: str, label: str, version: int) -> Change[Edited]:
    """Point ``label`` of model ``name`` at ``version`` (one atomic switch for requests)."""
    if not label:
        raise invalid_argument("A version label must not be empty")

    def edit(config: Config) -> tuple[Sequence[Config], Edited]:
        entry = _copy_entry(find_model(config, name))
        entry.version_labels[label] = version
        return [_with_entry(config, entry)], Edited(entry)

    return edit


def delete_label(name: str, label: str) -> Change[Edited]:
    """Remove ``label`` from model ``name``; requests naming it then fail as unknown labels."""

    def edit(config: Config) -> tuple[Sequence[Config], Edited]:
        entry = _copy_entry(find_model(config, name))
        if label not in entry.version_labels:
            raise not_found(f"Model {name} has no version label {label}")
        del entry.version_labels[label]
        return [_with_entry(config, entry)], Edited(entry)

    return edit


def _copy_entry(entry: Entry) -> Entry:
    fresh = Entry()
    fresh.CopyFrom(entry)
    return fresh


def _list_copy(config: Config) -> Config:
    """A copy of ``config`` that holds a model_config_list (an empty config becomes one)."""
    fresh = Config()
    fresh.CopyFrom(config)
    fresh.model_config_list.SetInParent()
    return fresh


def _with_entry(config: Config, entry: Entry) -> Config:
    """``config`` with ``entry`` replacing the entry of its name, or appended (order kept)."""
    result = _list_copy(config)
    entries = result.model_config_list.config
    for existing in entries:
        if existing.name == entry.name:
            existing.CopyFrom(entry)
            return result
    entries.add().CopyFrom(entry)
    return result
