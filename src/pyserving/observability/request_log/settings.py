"""Which models log sampled requests: the ``logging_config`` of each model in the model config.

TF Serving's OSS binary rejects any ``logging_config`` with ``No request-logger-creator provided.``
(reference §4.1). pyserving keeps that answer unless ``--request_log_dir`` gives the logs a home;
then each model's ``logging_config`` is honoured:

* ``sampling_config.sampling_rate`` in [0, 1]: the probability that a request is logged
  (``attributes`` and ``per_task_sampling_configs`` are ignored);
* ``log_collector_config.filename_prefix``: where its files go, relative to ``--request_log_dir``
  (default: the model name; absolute paths and ``..`` are refused). There is one collector, which
  writes TFRecord files, so ``log_collector_config.type`` is not interpreted.

The settings are process-wide: every model config that is parsed (at startup and on each reload)
replaces them (:func:`publish`), and the request path reads them with one dict lookup
(:func:`settings_for`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pyserving.errors import Code, ServingError
from pyserving.protos import logging_config_pb2, model_server_config_pb2

NO_LOGGER_MESSAGE = "No request-logger-creator provided."


@dataclass(frozen=True, slots=True)
class ModelLogSettings:
    sampling_rate: float
    prefix: str
    """File path prefix relative to the log directory."""
    sampling_config: bytes
    """The serialized SamplingConfig, copied into each record's LogMetadata."""


class _State:
    directory: str | None = None
    models: Mapping[str, ModelLogSettings] = MappingProxyType({})


_state = _State()


def enable(directory: str | None) -> None:
    """Set (or, with None, unset) the log directory; ``logging_config`` is refused without one."""
    _state.directory = directory
    if directory is None:
        _state.models = MappingProxyType({})


def check(name: str, config: logging_config_pb2.LoggingConfig) -> ModelLogSettings:
    """Validate one model's ``logging_config`` (INVALID_ARGUMENT with the reason)."""
    if _state.directory is None:
        raise ServingError(Code.INVALID_ARGUMENT, NO_LOGGER_MESSAGE)
    rate = config.sampling_config.sampling_rate
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Model {name}: logging_config.sampling_config.sampling_rate must be in [0, 1], "
            f"got {rate}",
        )
    prefix = config.log_collector_config.filename_prefix or name
    normalized = os.path.normpath(prefix)
    if os.path.isabs(prefix) or normalized == ".." or normalized.startswith(".." + os.sep):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Model {name}: logging_config.log_collector_config.filename_prefix must be a "
            f"relative path inside --request_log_dir, got '{prefix}'",
        )
    return ModelLogSettings(rate, normalized, config.sampling_config.SerializeToString())


def publish(config: model_server_config_pb2.ModelServerConfig) -> None:
    """Make ``config``'s logging settings the current ones (models without one log nothing)."""
    models = {
        entry.name: check(entry.name, entry.logging_config)
        for entry in config.model_config_list.config
        if entry.HasField("logging_config")
    }
    _state.models = MappingProxyType(models)


def settings_for(name: str) -> ModelLogSettings | None:
    return _state.models.get(name)


def directory() -> str | None:
    return _state.directory
