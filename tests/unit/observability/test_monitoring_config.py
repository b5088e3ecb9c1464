"""``--monitoring_config_file``: when and where the Prometheus page is served."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyserving.config.monitoring import DEFAULT_PROMETHEUS_PATH, prometheus_path
from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from tests.conftest import SHARED_MODELS


def _options(config: Path | str, rest_api_port: int = 8501) -> ServerOptions:
    return ServerOptions(monitoring_config_file=str(config), rest_api_port=rest_api_port)


def test_tf_servings_own_monitoring_config() -> None:
    shared = SHARED_MODELS / "monitoring_config.txt"
    assert prometheus_path(_options(shared)) == "/monitoring/prometheus/metrics"
    assert prometheus_path(_options(shared, rest_api_port=0)) is None  # TF never reads it then


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("prometheus_config { enable: true }", DEFAULT_PROMETHEUS_PATH),
        ('prometheus_config { enable: true path: "/m" }', "/m"),
        ('prometheus_config { path: "/m" }', None),
        ("", None),
    ],
)
def test_page_path(tmp_path: Path, text: str, path: str | None) -> None:
    config = tmp_path / "monitoring.config"
    config.write_text(text)
    assert prometheus_path(_options(config)) == path
    assert prometheus_path(ServerOptions(rest_api_port=8501)) is None


def test_unreadable_or_invalid_files_fail_startup(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as missing:
        prometheus_path(_options(tmp_path / "absent"))
    assert missing.value.code is Code.NOT_FOUND
    bad = tmp_path / "bad.config"
    bad.write_text("prometheus_config { enable: maybe }")
    with pytest.raises(ServingError) as invalid:
        prometheus_path(_options(bad))
    assert invalid.value.code is Code.INVALID_ARGUMENT
    assert invalid.value.message.startswith(f"Invalid protobuf file: '{bad}'")
