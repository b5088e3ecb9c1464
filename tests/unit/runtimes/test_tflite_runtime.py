"""The TFLite runtime on a real converted model (LiteRT when installed, else tf.lite's interpreter).

Runs in the main venv (TensorFlow) and in ``make test-onnx-only``'s venv, which has LiteRT and no
TensorFlow: there the runtime must serve with LiteRT alone."""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.detect import platform_of
from pyserving.runtimes.registry import get_runtime
from pyserving.runtimes.tflite.options import TfliteLoadOptions
from pyserving.runtimes.tflite.runtime import TfliteModel, TfliteRuntime, _interpreter_class
from tests.tflite_models import half_plus_two_version


@pytest.fixture(scope="module")
def version_dir(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tflite") / "1"
    return half_plus_two_version(shared_models, root, keep_saved_model=True)


def _options(**fields: object) -> LoadOptions:
    return LoadOptions.of("tflite", TfliteLoadOptions(**fields))  # type: ignore[arg-type]


def test_signature_runner_with_resized_batches(version_dir: Path) -> None:
    model = TfliteRuntime().load(str(version_dir), _options(interpreters=2))
    signature = model.signatures["serving_default"]
    (x,) = signature.inputs.values()
    (y,) = signature.outputs.values()
    assert list(signature.inputs) == ["x"] and list(signature.outputs) == ["y"]
    for rows in (1, 3, 8):
        values = np.arange(rows, dtype=np.float32)
        (out,) = model.run({x.name: values}, [y.name])
        assert out.tolist() == (values / 2 + 2).tolist()
    with ThreadPoolExecutor(4) as pool:  # the interpreter pool serialises per interpreter
        results = list(
            pool.map(
                lambda v: model.run({x.name: np.array([v], np.float32)}, [y.name])[0].tolist(),
                range(40),
            )
        )
    assert results == [[v / 2 + 2] for v in range(40)]
    with pytest.raises(ServingError) as error:
        model.run({"nope": np.ones(1, np.float32)}, [y.name])
    assert error.value.code is Code.INVALID_ARGUMENT
    model.unload()
    with pytest.raises(ServingError):
        model.run({x.name: np.ones(1, np.float32)}, [y.name])


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_litert_is_preferred_and_enough(version_dir: Path) -> None:
    interpreter = _interpreter_class()
    if _installed("ai_edge_litert"):
        assert interpreter.__module__.startswith("ai_edge_litert")
    else:
        assert interpreter.__module__.startswith("tensorflow")
    if not _installed("tensorflow"):
        model = TfliteRuntime().load(str(version_dir), LoadOptions())
        signature = model.signatures["serving_default"]
        x, y = signature.inputs["x"], signature.outputs["y"]
        (out,) = model.run({x.name: np.array([4.0], np.float32)}, [y.name])
        assert out.tolist() == [4.0]
        assert "tensorflow" not in sys.modules
        model.unload()


def test_tensorflow_platform_prefers_tflite_only_when_asked(version_dir: Path) -> None:
    pytest.importorskip("tensorflow")
    platform = get_runtime("tensorflow")
    preferred = platform.load(str(version_dir), _options(prefer_tflite_model=True))
    assert isinstance(preferred, TfliteModel)
    saved_model = platform.load(str(version_dir), LoadOptions())
    assert not isinstance(saved_model, TfliteModel)
    assert "classify_x_to_y" in saved_model.signatures  # the SavedModel's signatures
    saved_model.unload()
    assert platform_of(str(version_dir)) == "tensorflow"


def test_missing_model_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ServingError) as caught:
        TfliteRuntime().load(str(tmp_path), LoadOptions())
    assert caught.value.code is Code.NOT_FOUND
    assert not TfliteRuntime().is_version_complete(str(tmp_path))
