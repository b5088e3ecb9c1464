"""``--monitoring_config_file``: TF Serving's text ``MonitoringConfig`` (reference §4.4, §7).

The Prometheus page is served when the file sets ``prometheus_config { enable: true }`` and there
is a REST port (TF never reads the file without one); an empty ``path`` means TF's default.
"""

from __future__ import annotations

from typing import Final

from google.protobuf import text_format

from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from pyserving.protos import monitoring_config_pb2, parse_text

DEFAULT_PROMETHEUS_PATH: Final = "/monitoring/prometheus/metrics"


def read_monitoring_config(path: str) -> monitoring_config_pb2.MonitoringConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ServingError(Code.NOT_FOUND, f"{path}; {exc.strerror}") from exc
    try:
        return parse_text(text, monitoring_config_pb2.MonitoringConfig())
    except text_format.ParseError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Invalid protobuf file: '{path}' ({exc})"
        ) from exc


def prometheus_path(options: ServerOptions) -> str | None:
    """The metrics page path, or None when no page is served."""
    if not options.rest_api_port:
        return None
    if not options.monitoring_config_file:
        return options.metrics_path or None
    config = read_monitoring_config(options.monitoring_config_file).prometheus_config
    if not config.enable:
        return None
    return config.path or DEFAULT_PROMETHEUS_PATH
