"""Model config validation messages (TF Serving's server_core.cc) and the startup config built
from the flags (reference §4.1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pyserving.config.models import (
    config_from_options,
    format_model_server_config,
    models_from_config,
)
from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ModelConfig, VersionPolicy
from pyserving.protos import model_server_config_pb2, parse_text


def _models(entries: str) -> list[ModelConfig]:
    config = model_server_config_pb2.ModelServerConfig()
    parse_text(f"model_config_list {{ {entries} }}", config)
    return models_from_config(config)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            'config { name: "m" base_path: "/m" model_type: TENSORFLOW model_platform: "x" }',
            "Illegal setting both ModelServerConfig::model_type (deprecated) and "
            "ModelServerConfig::model_platform.",
        ),
        (
            'config { name: "m" base_path: "/m" model_type: OTHER }',
            "ModelServerConfig::model_type choice 2 not supported.",
        ),
        (
            'config { name: "m" base_path: "/m" }',
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            "ModelServerConfig::model_platform, model name is m",
        ),
    ],
)
def test_platform_messages(entries: str, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        _models(entries)
    assert (caught.value.code, caught.value.message) == (Code.INVALID_ARGUMENT, message)


def test_entries_convert_with_policy_labels_and_deprecated_type() -> None:
    (model,) = _models(
        'config { name: "m" base_path: "/m" model_type: TENSORFLOW '
        "model_version_policy { specific { versions: 3 versions: 1 } } "
        'version_labels { key: "stable" value: 3 } }'
    )
    assert model == ModelConfig(
        "m", "/m", "tensorflow", VersionPolicy.specific(3, 1), {"stable": 3}
    )


def test_startup_config_from_flags(tmp_path: Path) -> None:
    single = dataclasses.replace(ServerOptions(), model_name="hp", model_base_path="rel/hp")
    config = config_from_options(single)
    (entry,) = config.model_config_list.config
    assert (entry.name, entry.model_platform) == ("hp", "tensorflow")
    assert entry.base_path == str(Path("rel/hp").resolve())
    inline = dataclasses.replace(
        ServerOptions(), model_config_inline=(("a", "/m/a"), ("b", "/m/b"))
    )
    assert [e.name for e in config_from_options(inline).model_config_list.config] == ["a", "b"]
    path = tmp_path / "models.config"
    path.write_text(format_model_server_config(config))
    from_file = dataclasses.replace(ServerOptions(), model_config_file=str(path))
    assert config_from_options(from_file) == config
