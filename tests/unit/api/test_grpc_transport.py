"""Flag-level gRPC settings: channel arguments, TLS, message truncation, response encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyserving.api.grpc import convert
from pyserving.api.grpc.errors import GRPC_STATUS, truncate
from pyserving.api.grpc.transport import settings as transport
from pyserving.errors import Code, ServingError
from pyserving.service.types import PredictResult, ResolvedSpec


def test_channel_arguments_ints_and_strings() -> None:
    options = transport.channel_options(
        "grpc.so_reuseaddr=1,grpc.primary_user_agent=me,big=2147483648,neg=-5, spaced= 7 "
    )
    assert options[:2] == [
        ("grpc.max_send_message_length", 2**31 - 1),
        ("grpc.max_receive_message_length", 2**31 - 1),
    ]
    assert options[2:] == [
        ("grpc.so_reuseaddr", 1),
        ("grpc.primary_user_agent", "me"),
        ("big", "2147483648"),  # not an int32: passed as a string, like TF's safe_strto32
        ("neg", -5),
        (" spaced", 7),
    ]
    assert transport.channel_options("")[2:] == []


def test_channel_arguments_override_the_size_defaults() -> None:
    options = transport.channel_options("grpc.max_receive_message_length=1000,a=1,a=2")
    assert options == [
        ("grpc.max_send_message_length", 2**31 - 1),
        ("grpc.max_receive_message_length", 1000),
        ("a", 2),
    ]


def test_channel_argument_without_value_is_rejected() -> None:
    with pytest.raises(ServingError) as caught:
        transport.channel_options("grpc.so_reuseaddr")
    assert caught.value.code == Code.INVALID_ARGUMENT


def test_max_threads_bounds_concurrent_rpcs() -> None:
    assert transport.max_concurrent_rpcs(8) == 8
    assert transport.max_concurrent_rpcs(0) is None


def test_ssl_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as caught:
        transport.server_credentials(str(tmp_path / "missing.txt"))
    assert caught.value.code == Code.NOT_FOUND
    bad = tmp_path / "bad.txt"
    bad.write_text("server_key: {")
    with pytest.raises(ServingError) as caught:
        transport.server_credentials(str(bad))
    assert caught.value.message.startswith(f"Invalid protobuf file: '{bad}'")
    incomplete = tmp_path / "incomplete.txt"
    incomplete.write_text('server_key: "x"')
    with pytest.raises(ServingError):
        transport.server_credentials(str(incomplete))
    assert transport.server_credentials("") is None


def test_truncate_follows_tf_serving() -> None:
    assert truncate("short") == "short"
    assert truncate("a" * 1024) == "a" * 1024
    assert truncate("a" * 1025) == "a" * 1024 + "...TRUNCATED"
    assert truncate("é" * 600) == "é" * 512 + "...TRUNCATED"  # 2-byte characters


def test_every_code_has_a_grpc_status() -> None:
    for code in Code:
        assert GRPC_STATUS[code].value[0] == int(code)


def test_predict_response_encodings() -> None:
    result = PredictResult(
        ResolvedSpec("m", 3, "serving_default"),
        {"y": np.array([[3.0]], dtype=np.float32), "s": np.array([b"a"], dtype=object)},
    )
    typed = convert.predict_response(result, as_content=False)
    assert list(typed.outputs["y"].float_val) == [3.0]
    content = convert.predict_response(result, as_content=True)
    assert content.outputs["y"].tensor_content == np.float32(3.0).tobytes()
    assert list(content.outputs["s"].string_val) == [b"a"]
    assert (content.model_spec.name, content.model_spec.version.value) == ("m", 3)
