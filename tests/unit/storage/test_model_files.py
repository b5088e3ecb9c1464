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


def test_the_names_are_the_runtime_registrys() -> None:
    from pyserving.runtimes.registry import RUNTIMES

    for platform, entry in RUNTIMES.items():
        if entry.model_files:
            assert model_files(platform) == set(entry.model_files)
    assert model_files("fake") == {"fake_model.json"}
    assert model_files("auto") >= {"saved_model.pb", "model.onnx", "model.tflite"}


def test_importing_the_storage_package_imports_no_store_or_runtime_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pyserving.storage\n"
        "heavy = [m for m in ('fsspec', 's3fs', 'gcsfs', 'numpy', 'tensorflow', 'onnxruntime')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
