"""The served models: from ``--model_config_file`` (TF Serving's text ModelServerConfig), from
``--model_name``/``--model_base_path``, or from ``pyserving serve`` paths.

Validation messages are TF Serving's (server_core.cc), so scripts that grep them keep working.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from google.protobuf import text_format

from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.config import ModelConfig, VersionPolicy
from pyserving.observability.request_log import settings as request_log
from pyserving.protos import (
    file_system_storage_path_source_pb2,
    model_server_config_pb2,
    parse_text,
)
from pyserving.runtimes.registry import is_known_platform

logger = logging.getLogger("pyserving.config")

# ModelConfig.model_type (deprecated): TENSORFLOW = 1 means platform "tensorflow".
_MODEL_TYPE_TENSORFLOW = 1


def read_model_server_config(path: str) -> model_server_config_pb2.ModelServerConfig:
    """Parse a text-format ModelServerConfig file, reporting errors as TF Serving does."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ServingError(Code.NOT_FOUND, f"{path}; {exc.strerror}") from exc
    config = model_server_config_pb2.ModelServerConfig()
    try:
        parse_text(text, config)
    except text_format.ParseError as exc:
        # TF Serving's protobuf logs this line to stderr; tests and users grep it.
        print(
            f"Error parsing text-format tensorflow.serving.ModelServerConfig: {exc}",
            file=sys.stderr,
        )
        raise ServingError(Code.INVALID_ARGUMENT, f"Invalid protobuf file: '{path}'") from exc
    return config


def _policy(config: model_server_config_pb2.ModelConfig) -> VersionPolicy:
    policy = config.model_version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return VersionPolicy("all")
    if kind == "specific":
        return VersionPolicy("specific", versions=tuple(policy.specific.versions))
    if kind == "latest":
        return VersionPolicy("latest", num_versions=max(1, policy.latest.num_versions))
    return VersionPolicy("latest", num_versions=1)


def _platform(config: model_server_config_pb2.ModelConfig, default: str) -> str:
    if config.model_type and config.model_platform:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Illegal setting both ModelServerConfig::model_type (deprecated) and "
            "ModelServerConfig::model_platform.",
        )
    if config.model_platform:
        platform = config.model_platform
    elif config.model_type == _MODEL_TYPE_TENSORFLOW:
        platform = "tensorflow"
    elif config.model_type:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"ModelServerConfig::model_type choice {config.model_type} not supported.",
        )
    elif default:
        platform = default
    else:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            f"ModelServerConfig::model_platform, model name is {config.name}",
        )
    if not is_known_platform(platform):
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Model {config.name} requests unsupported platform {platform}"
        )
    return platform


def _is_absolute_or_uri(path: str) -> bool:
    return os.path.isabs(path) or "://" in path


def models_from_config(
    config: model_server_config_pb2.ModelServerConfig, default_platform: str = ""
) -> list[ModelConfig]:
    """Validate a ModelServerConfig and convert it to lifecycle configs. An entry with neither
    ``model_platform`` nor ``model_type`` gets ``default_platform``; with none given it is an
    error, as in TF Serving (``pyserving serve`` gives ``auto``: detected per version)."""
    kind = config.WhichOneof("config")
    if kind is None:
        return []
    if kind != "model_config_list":
        raise ServingError(
            Code.UNIMPLEMENTED, "pyserving supports only model_config_list configurations"
        )
    models: list[ModelConfig] = []
    seen: set[str] = set()
    for entry in config.model_config_list.config:
        if entry.name in seen:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"Illegal to list model {entry.name} multiple times in config list",
            )
        seen.add(entry.name)
        if not _is_absolute_or_uri(entry.base_path):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"Expected model {entry.name} to have an absolute path or URI; "
                f"got base_path()={entry.base_path}",
            )
        if entry.HasField("logging_config"):  # refused unless --request_log_dir is set
            request_log.check(entry.name, entry.logging_config)
        models.append(
            ModelConfig(
                name=entry.name,
                base_path=entry.base_path,
                platform=_platform(entry, default_platform),
                policy=_policy(entry),
                labels=dict(entry.version_labels),
            )
        )
    # The request-logging settings follow the *served* config: the composition root publishes
    # them from ConfigController's on_served callback, never for a config the core rejects.
    return models


def _inline(
    pairs: Sequence[tuple[str, str]], platform: str, policy: str = ""
) -> model_server_config_pb2.ModelServerConfig:
    """TF Serving's ``BuildSingleModelConfig``, for one or several (name, path) pairs of
    ``platform``, each with the version ``policy`` (:func:`parse_version_policy`)."""
    config = model_server_config_pb2.ModelServerConfig()
    entries = config.model_config_list.config
    for name, path in pairs:
        # A URI (s3://, gs://) names an object store: it has no local meaning to resolve.
        base_path = path if "://" in path else os.path.abspath(path)
        entry = entries.add(name=name, base_path=base_path, model_platform=platform)
        if policy:
            entry.model_version_policy.CopyFrom(parse_version_policy(policy))
    return config


VersionPolicyProto = (
    file_system_storage_path_source_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy
)


def parse_version_policy(text: str) -> VersionPolicyProto:
    """``latest:N``, ``all`` or ``specific:1,2`` as a ServableVersionPolicy (ValueError naming
    the expected forms otherwise)."""
    policy = VersionPolicyProto()
    kind, _, rest = text.strip().partition(":")
    try:
        if kind == "all" and not rest:
            policy.all.SetInParent()
            return policy
        if kind == "latest":
            count = int(rest)
            if count < 1:
                raise ValueError
            policy.latest.num_versions = count
            return policy
        if kind == "specific":
            versions = [int(v) for v in rest.split(",")]
            if not versions or any(v < 0 for v in versions):
                raise ValueError
            policy.specific.versions.extend(versions)
            return policy
    except ValueError:
        pass
    raise ValueError(
        f"{text!r} is not a version policy: use latest:N (N >= 1), all, or specific:1,2"
    )


def config_from_options(options: ServerOptions) -> model_server_config_pb2.ModelServerConfig:
    """The startup ModelServerConfig, in TF Serving's precedence: config file, then the
    single-model flags (built as a one-entry list, as TF Serving does)."""
    if options.model_config_file:
        return read_model_server_config(options.model_config_file)
    if options.model_config_inline:
        return _inline(
            options.model_config_inline, _inline_platform(options), options.inline_version_policy
        )
    if options.model_base_path:
        # TF Serving requires an absolute base path; resolving a relative one is friendlier and
        # cannot change the meaning of a path TF Serving accepts.
        return _inline(
            [(options.model_name, options.model_base_path)],
            _inline_platform(options),
            options.inline_version_policy,
        )
    raise ServingError(
        Code.INVALID_ARGUMENT,
        "Both server_options.model_base_path and server_options.model_config_file are empty!",
    )


def _inline_platform(options: ServerOptions) -> str:
    # TF Serving's single-model flags mean a TensorFlow model; pyserving serve detects.
    return options.default_platform or "tensorflow"


def models_from_options(options: ServerOptions) -> list[ModelConfig]:
    """The startup models (:func:`config_from_options`, validated and converted)."""
    return models_from_config(config_from_options(options), options.default_platform)


def format_model_server_config(config: model_server_config_pb2.ModelServerConfig) -> str:
    """``config`` in protobuf text format, as ``--model_config_file`` holds it."""
    return text_format.MessageToString(config)
