"""BatchingParameters text, TF Serving's defaults and checks, and the server-option wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyserving.batching import BatchingOptions, batching_setup, from_proto
from pyserving.batching.params import (
    MODEL_SERVER_THREAD_POOL_NAME,
    parse_batching_parameters,
    read_batching_parameters,
    serve_defaults,
)
from pyserving.config.options import ServerOptions, schedulable_cpus
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import ServableId
from tests.unit.batching.support import RecordingModel


def options_of(text: str) -> BatchingOptions:
    return from_proto(parse_batching_parameters(text, "test.txt"))


def test_tf_servings_test_file_uses_wrapper_syntax(shared_models: Path) -> None:
    options = from_proto(read_batching_parameters(str(shared_models / "batching_config.txt")))
    assert (options.max_batch_size, options.batch_timeout_micros) == (128, 0)
    assert (options.max_enqueued_batches, options.num_batch_threads) == (1000000, 8)


def test_unset_fields_take_tf_defaults() -> None:
    options = options_of("")
    assert options == BatchingOptions(
        max_batch_size=1000,
        batch_timeout_micros=0,
        max_enqueued_batches=10,
        num_batch_threads=schedulable_cpus(),
        thread_pool_name="batch_threads",
        max_execution_batch_size=1000,
    )
    assert options.execution_limit == 1000


def test_all_fields() -> None:
    options = options_of(
        "max_batch_size { value: 64 } batch_timeout_micros { value: 500 } "
        "max_enqueued_batches { value: 3 } num_batch_threads { value: 2 } "
        'thread_pool_name { value: "pool" } allowed_batch_sizes: [8, 16] '
        "pad_variable_length_inputs: true enable_large_batch_splitting { value: true } "
        "max_execution_batch_size { value: 16 }"
    )
    assert options.allowed_batch_sizes == (8, 16)
    assert options.execution_limit == 16
    assert (options.padded_size(3), options.padded_size(9), options.padded_size(16)) == (8, 16, 16)
    assert options.pad_variable_length_inputs and options.thread_pool_name == "pool"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "max_batch_size { value: 32 } allowed_batch_sizes: [8, 16]",
            "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 16; "
            "expected 32",
        ),
        ("max_batch_size { value: 16 } allowed_batch_sizes: [8, 8, 16]", "monotonically"),
        ("max_batch_size { value: 0 }", "max_batch_size must be positive"),
        ("num_batch_threads { value: 0 }", "num_batch_threads must be positive"),
        ("batch_timeout_micros { value: -1 }", "batch_timeout_micros must be non-negative"),
        (
            "max_batch_size { value: 8 } enable_large_batch_splitting { value: true } "
            "max_execution_batch_size { value: 9 }",
            "max_execution_batch_size must be positive and not larger than max_batch_size",
        ),
        ("max_batch_size: 5", "Invalid protobuf file: 'test.txt'"),
        ("no_such_field { value: 1 }", "Invalid protobuf file: 'test.txt'"),
    ],
)
def test_refused_parameters(text: str, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        options_of(text)
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert message in caught.value.message


def test_splitting_checks_allowed_sizes_against_the_execution_size() -> None:
    options = options_of(
        "max_batch_size { value: 100 } enable_large_batch_splitting { value: true } "
        "max_execution_batch_size { value: 16 } allowed_batch_sizes: [4, 16]"
    )
    assert options.execution_limit == 16


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as caught:
        read_batching_parameters(str(tmp_path / "nope.txt"))
    assert caught.value.code is Code.NOT_FOUND


def test_setup_follows_the_flags(tmp_path: Path) -> None:
    assert batching_setup(ServerOptions()) is None
    tf_default = batching_setup(ServerOptions(enable_batching=True))
    assert tf_default is not None
    assert tf_default.policy.default == BatchingOptions(
        thread_pool_name=MODEL_SERVER_THREAD_POOL_NAME
    )
    serve = batching_setup(ServerOptions(enable_batching=True, batching_defaults="serve"))
    assert serve is not None and serve.policy.default == serve_defaults()
    file = tmp_path / "batching.txt"
    file.write_text("max_batch_size { value: 7 } num_batch_threads { value: 3 }")
    from_file = batching_setup(
        ServerOptions(enable_batching=True, batching_parameters_file=str(file))
    )
    assert from_file is not None and from_file.num_batch_threads == 3
    assert from_file.policy.default is not None and from_file.policy.default.max_batch_size == 7


def test_serve_defaults_never_refuse_a_request_for_its_size() -> None:
    options = serve_defaults()
    assert options.enable_large_batch_splitting and options.batch_timeout_micros == 0
    assert options.max_batch_size >= 1 << 20
    assert options.max_enqueued_batches * options.execution_limit >= options.max_batch_size


def test_per_model_parameters_come_from_the_version_directory(tmp_path: Path) -> None:
    file = tmp_path / "global.txt"
    file.write_text('num_batch_threads { value: 3 } thread_pool_name { value: "shared" }')
    setup = batching_setup(
        ServerOptions(
            enable_batching=True,
            batching_parameters_file=str(file),
            enable_per_model_batching_parameters=True,
        )
    )
    assert setup is not None and setup.num_batch_threads == 3
    batched, plain, broken = tmp_path / "a" / "1", tmp_path / "b" / "1", tmp_path / "c" / "1"
    for directory in (batched, plain, broken):
        directory.mkdir(parents=True)
    (batched / "batching_params.pbtxt").write_text("max_batch_size { value: 4 }")
    (broken / "batching_params.pbtxt").write_text("max_batch_size: {")
    a, b, c = RecordingModel(), RecordingModel(), RecordingModel()
    setup.policy.post_load(ServableId("a", 1), str(batched), a)
    setup.policy.post_load(ServableId("b", 1), str(plain), b)
    with pytest.raises(ServingError) as caught:
        setup.policy.post_load(ServableId("c", 1), str(broken), c)
    assert caught.value.code is Code.INVALID_ARGUMENT
    entry_a, entry_b = setup.policy.entry(a, "a"), setup.policy.entry(b, "b")
    assert entry_a is not None and entry_a.options is not None
    assert entry_a.options == BatchingOptions(
        max_batch_size=4, max_execution_batch_size=4, thread_pool_name="shared"
    )
    assert entry_b is not None and entry_b.options is None  # no file: unbatched
    unknown = setup.policy.entry(RecordingModel(), "d")  # never loaded through the hook
    assert unknown is not None and unknown.options is None
