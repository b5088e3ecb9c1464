"""demo/build_demo.py builds servable models, a valid config and a sample request that matches them.

The builder runs once per module (a few seconds of training) as a subprocess, exactly as `make demo`
runs it, and its outputs are checked from the outside: the SavedModels are loaded the way a TF1
session loads them, by the tensor names their signatures list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import text_format

tf = pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "demo" / "build_demo.py"
HALF_PLUS_TWO_DIR = "saved_model_half_plus_two_cpu"


class Built:
    def __init__(self, out: Path, shared: Path, output: str) -> None:
        self.out = out
        self.shared = shared
        self.output = output

    @property
    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((self.out / "build_summary.json").read_text())
        return result


def run_builder(out: Path, shared: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILDER), "--out", str(out), "--shared", str(shared), *extra],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("demo")
    # A stand-in for ../shared/testdata/tfserving: the builder only points the config at it.
    shared = root / "shared"
    (shared / HALF_PLUS_TWO_DIR).mkdir(parents=True)
    # A relative --out, as the Makefile passes it, to check the config still gets absolute paths.
    out = Path(os.path.relpath(root / "models"))
    result = run_builder(out, shared)
    assert result.returncode == 0, result.stdout + result.stderr
    return Built(out.resolve(), shared.resolve(), result.stdout)


def load_session(export_dir: Path) -> tuple[Any, Any]:
    """A TF1 session holding the SavedModel, as TF Serving loads it, and its MetaGraphDef."""
    graph = tf.Graph()
    session = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(export_dir))
    return session, meta_graph


def tensor_spec(info: Any) -> tuple[str, list[int]]:
    return tf.dtypes.as_dtype(info.dtype).name, [dim.size for dim in info.tensor_shape.dim]


def test_both_versions_exported_without_leftovers(built: Built) -> None:
    base = built.out / "digits"
    for version in ("1", "2"):
        assert (base / version / "saved_model.pb").is_file()
        assert (base / version / "variables" / "variables.index").is_file()
    # Scratch directories are renamed into place or removed; the server's poller must not see them.
    assert sorted(child.name for child in base.iterdir()) == ["1", "2"]


def test_config_names_both_models_by_absolute_path(built: Built) -> None:
    text = (built.out / "models.config").read_text()
    half_plus_two = built.shared / HALF_PLUS_TWO_DIR
    digits = built.out / "digits"
    assert half_plus_two.is_absolute()
    assert digits.is_absolute()
    assert text.count("config {") == 3
    assert 'name: "half_plus_two"' in text
    assert f'base_path: "{half_plus_two}"' in text
    assert 'name: "digits"' in text
    assert f'base_path: "{digits}"' in text
    assert text.count('model_platform: "tensorflow"') == 2
    assert 'name: "digits_onnx"' in text
    assert f'base_path: "{built.out / "digits_onnx"}"' in text
    assert text.count('model_platform: "onnx"') == 1
    assert text.count("{") == text.count("}")


def test_config_parses_as_tf_serving_model_server_config(built: Built) -> None:
    # Upstream's own message type (from tensorflow-serving-api), independent of pyserving's parser.
    config_pb2 = pytest.importorskip("tensorflow_serving.config.model_server_config_pb2")
    config = text_format.Parse(
        (built.out / "models.config").read_text(), config_pb2.ModelServerConfig()
    )
    models = {model.name: model for model in config.model_config_list.config}
    assert models["half_plus_two"].base_path == str(built.shared / HALF_PLUS_TWO_DIR)
    assert models["digits"].base_path == str(built.out / "digits")
    # Both versions are served, so a client can compare them.
    assert models["digits"].model_version_policy.WhichOneof("policy_choice") == "all"


def test_version_two_is_accurate_and_version_one_is_not(built: Built) -> None:
    versions = built.summary["versions"]
    assert versions["2"]["test_accuracy"] >= 0.95
    assert versions["1"]["test_accuracy"] < versions["2"]["test_accuracy"]
    assert built.summary["test_images"] > 100


def test_signatures_have_the_documented_names_dtypes_and_shapes(built: Built) -> None:
    session, meta_graph = load_session(built.out / "digits" / "2")
    session.close()
    predict = meta_graph.signature_def["serving_default"]
    assert {key: tensor_spec(info) for key, info in predict.inputs.items()} == {
        "pixels": ("float32", [-1, 64])
    }
    assert {key: tensor_spec(info) for key, info in predict.outputs.items()} == {
        "probabilities": ("float32", [-1, 10]),
        "class_id": ("int64", [-1]),
    }
    classify = meta_graph.signature_def["classify"]
    assert {key: tensor_spec(info) for key, info in classify.inputs.items()} == {
        "inputs": ("string", [-1])
    }
    assert {key: tensor_spec(info) for key, info in classify.outputs.items()} == {
        "classes": ("string", [-1, 10]),
        "scores": ("float32", [-1, 10]),
    }


def test_sample_label_matches_version_two_prediction(built: Built) -> None:
    body = json.loads((built.out / "sample_digits.json").read_text())
    pixels = np.asarray(body["instances"], dtype=np.float32)
    assert pixels.shape == (1, 64)
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    label = built.summary["sample"]["label"]

    session, meta_graph = load_session(built.out / "digits" / "2")
    with session:
        predict = meta_graph.signature_def["serving_default"]
        outputs = session.run(
            {key: info.name for key, info in predict.outputs.items()},
            feed_dict={predict.inputs["pixels"].name: pixels},
        )
    assert outputs["class_id"].tolist() == [label]
    assert int(np.argmax(outputs["probabilities"][0])) == label
    assert outputs["probabilities"][0].sum() == pytest.approx(1.0, abs=1e-5)
    assert built.summary["sample"]["predicted"]["2"] == label


def test_sample_answer_recorded_for_version_one_is_what_it_serves(built: Built) -> None:
    body = json.loads((built.out / "sample_digits.json").read_text())
    session, meta_graph = load_session(built.out / "digits" / "1")
    with session:
        predict = meta_graph.signature_def["serving_default"]
        class_id = session.run(
            predict.outputs["class_id"].name,
            feed_dict={predict.inputs["pixels"].name: np.asarray(body["instances"], np.float32)},
        )
    assert class_id.tolist() == [built.summary["sample"]["predicted"]["1"]]


def test_onnx_twin_answers_the_sample_like_the_savedmodel(built: Built) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    body = json.loads((built.out / "sample_digits.json").read_text())
    pixels = np.asarray(body["instances"], dtype=np.float32)
    for version in ("1", "2"):
        session, meta_graph = load_session(built.out / "digits" / version)
        with session:
            predict = meta_graph.signature_def["serving_default"]
            expected = session.run(
                {key: info.name for key, info in predict.outputs.items()},
                feed_dict={predict.inputs["pixels"].name: pixels},
            )
        model = built.out / "digits_onnx" / version / "model.onnx"
        onnx_session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        probabilities, class_id = onnx_session.run(
            ["probabilities", "class_id"], {"pixels": pixels}
        )
        np.testing.assert_allclose(probabilities, expected["probabilities"], rtol=1e-5, atol=1e-6)
        assert class_id.tolist() == expected["class_id"].tolist()
    assert sorted(c.name for c in (built.out / "digits_onnx").iterdir()) == ["1", "2"]


def test_classify_sample_gives_the_same_answer(built: Built) -> None:
    text = (built.out / "sample_digits_classify.json").read_text()
    body = json.loads(text)
    assert body["signature_name"] == "classify"
    pixels = body["examples"][0]["pixels"]
    # The REST API makes a float_list only of numbers written with a decimal point.
    assert len(pixels) == 64
    assert all(isinstance(value, float) for value in pixels)
    example = tf.train.Example(
        features=tf.train.Features(
            feature={"pixels": tf.train.Feature(float_list=tf.train.FloatList(value=pixels))}
        )
    )

    session, meta_graph = load_session(built.out / "digits" / "2")
    with session:
        classify = meta_graph.signature_def["classify"]
        outputs = session.run(
            {key: info.name for key, info in classify.outputs.items()},
            feed_dict={classify.inputs["inputs"].name: [example.SerializeToString()]},
        )
    assert outputs["classes"].tolist() == [[str(digit).encode() for digit in range(10)]]
    assert int(np.argmax(outputs["scores"][0])) == built.summary["sample"]["label"]


def test_rerun_skips_training_and_keeps_the_models(built: Built) -> None:
    saved_model = built.out / "digits" / "2" / "saved_model.pb"
    config = built.out / "models.config"
    before = saved_model.stat().st_mtime_ns
    config_before = config.stat().st_mtime_ns
    started = time.monotonic()
    result = run_builder(built.out, built.shared)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout
    # No TensorFlow import, no training: well under the seconds a build takes.
    assert time.monotonic() - started < 10
    assert saved_model.stat().st_mtime_ns == before
    # Unchanged, so a server polling the config file sees nothing new.
    assert config.stat().st_mtime_ns == config_before


def test_missing_shared_models_is_a_clear_error(tmp_path: Path) -> None:
    result = run_builder(tmp_path / "models", tmp_path / "no-such-dir")
    assert result.returncode == 2
    assert HALF_PLUS_TWO_DIR in result.stderr
    assert not (tmp_path / "models").exists()


def test_a_config_changed_by_the_admin_api_survives_the_next_build(built: Built) -> None:
    """`make run` rebuilds the demo on every start: what the admin API wrote must be served."""
    config = built.out / "models.config"
    built_text = config.read_text()
    changed = "# Model server config (protobuf text format). Written by pyserving's admin API\n"
    changed += built_text.split("\n", 1)[1].replace("all {", "latest { num_versions: 1")
    config.write_text(changed)
    try:
        result = run_builder(built.out, built.shared)
        assert result.returncode == 0, result.stdout + result.stderr
        assert config.read_text() == changed
        assert "config: kept" in result.stdout
    finally:
        config.write_text(built_text)
