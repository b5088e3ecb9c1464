from pyserving.storage.model_files import READY_MARKER, looks_complete, model_files


def test_each_platform_has_its_model_file() -> None:
    assert "saved_model.pb" in model_files("tensorflow")
    assert model_files("onnx") == {"model.onnx"}
    assert "model.onnx" in model_files("some-future-runtime")  # unknown: any model file


def test_a_version_without_its_model_file_is_incomplete() -> None:
    assert not looks_complete("tensorflow", ["variables"], markers_required=False)
    assert not looks_complete("onnx", ["saved_model.pb"], markers_required=False)
    assert looks_complete("tensorflow", ["saved_model.pb"], markers_required=False)


def test_the_ready_marker_completes_and_is_required_once_the_base_path_uses_markers() -> None:
    assert looks_complete("onnx", [READY_MARKER], markers_required=True)
    assert not looks_complete("onnx", ["model.onnx"], markers_required=True)
