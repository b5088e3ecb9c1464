"""Build the models `make run` serves, plus the config file and sample requests that go with them.

    python demo/build_demo.py --out demo/models --shared ../shared/testdata/tfserving [--force]

Writes, under --out:
  digits/1/, digits/2/        TF2 SavedModels of a digits classifier (1 is undertrained on purpose)
  digits_onnx/1/, digits_onnx/2/  the same weights as ONNX (model.onnx), served by ONNX Runtime
  models.config               a ModelServerConfig serving `digits` and the shared `half_plus_two`
  sample_digits.json          a Predict request body holding one held-out image
  sample_digits_classify.json the same image as a Classify request body (a tf.Example as JSON)
  samples/digit_<0-9>.png     held-out digits as pictures, for demo/client_rest.py, client_grpc.py
  build_summary.json          accuracies, the sample's true label, and the stamp that makes re-runs
                              skip training while the build inputs are unchanged

Everything is published atomically (written beside its target, then renamed into place), so a server
polling --out never sees a half-written file or model version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

DEMO_DIR = Path(__file__).resolve().parent
MODEL_NAME = "digits"
ONNX_MODEL_NAME = "digits_onnx"
HALF_PLUS_TWO_NAME = "half_plus_two"
HALF_PLUS_TWO_DIR = "saved_model_half_plus_two_cpu"
CONFIG_FILE = "models.config"
# The first words of the config file as built: a file that no longer starts with them was changed
# (by the admin API, which rewrites the file, or by hand) and is left alone.
CONFIG_HEADER = "# Written by demo/build_demo.py"
SUMMARY_FILE = "build_summary.json"
PREDICT_SAMPLE_FILE = "sample_digits.json"
CLASSIFY_SAMPLE_FILE = "sample_digits_classify.json"
# The files whose code decides what the models look like: editing either one invalidates the stamp.
SOURCE_FILES = ("build_demo.py", "digits_model.py", "digit_image.py", "digits_onnx.py")
SAMPLES_DIR = "samples"  # digit_<label>.png: one held-out picture per digit, for demo/client_*.py
# Scratch directories live inside the model's base path (os.replace cannot cross file systems). The
# server's version poller only takes all-digit directory names as versions, so it ignores these.
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
# mkdtemp/mkstemp create private (0700/0600) entries; a server running as another user (TF Serving
# in Docker, say) must still be able to read what we publish.
DIR_MODE = 0o755
FILE_MODE = 0o644


@dataclass(frozen=True)
class BuildParams:
    seed: int = 0
    test_fraction: float = 0.25
    hidden_units: int = 64
    batch_size: int = 32
    learning_rate: float = 1e-3
    # (version, epochs): version 1 is deliberately undertrained, so a client comparing the two
    # served versions sees the difference.
    versions: tuple[tuple[int, int], ...] = ((1, 2), (2, 30))


def tensorflow_version() -> str:
    """The installed TensorFlow's version, read from package metadata to avoid importing it."""
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def build_key(params: BuildParams) -> str:
    """Hash all that decides the trained weights; a stored match lets a re-run skip training."""
    sources = {
        name: hashlib.sha256((DEMO_DIR / name).read_bytes()).hexdigest() for name in SOURCE_FILES
    }
    payload = {"params": asdict(params), "tensorflow": tensorflow_version(), "sources": sources}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_summary(out: Path) -> dict[str, Any] | None:
    try:
        summary = json.loads((out / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def is_up_to_date(out: Path, params: BuildParams, key: str) -> bool:
    summary = read_summary(out)
    if summary is None or summary.get("build_key") != key:
        return False
    # The stamp alone is not enough: someone may have deleted a version by hand.
    needed = [out / MODEL_NAME / str(version) / "saved_model.pb" for version, _ in params.versions]
    needed += [out / ONNX_MODEL_NAME / str(v) / "model.onnx" for v, _ in params.versions]
    needed += [out / PREDICT_SAMPLE_FILE, out / CLASSIFY_SAMPLE_FILE]
    needed += [out / SAMPLES_DIR / f"digit_{label}.png" for label in range(10)]
    return all(path.is_file() for path in needed)


def atomic_write_text(path: Path, text: str) -> None:
    handle, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory `src` to `dst`, displacing an existing `dst`.

    rename(2) cannot replace a non-empty directory, so an old version is first renamed aside. That
    leaves a gap of microseconds in which the version is absent; a poller that hits it merely
    unloads and reloads the version, and a swap without any gap would need Linux-only renameat2.
    """
    old: Path | None = None
    if dst.exists():
        old = dst.with_name(f"{OLD_PREFIX}{dst.name}-{os.getpid()}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old)


def remove_scratch(directory: Path) -> None:
    """Delete scratch entries an interrupted earlier build left behind."""
    for child in directory.iterdir():
        if child.name.startswith((TMP_PREFIX, OLD_PREFIX)):
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()


def proto_string(value: str) -> str:
    """Quote `value` as a protobuf text-format string literal (C-style, octal for other bytes)."""
    parts = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if char in ('"', "\\"):
            parts.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            parts.append(char)
        else:
            parts.append(f"\\{byte:03o}")
    return '"' + "".join(parts) + '"'


def model_config_text(half_plus_two: Path, digits: Path, digits_onnx: Path) -> str:
    # `all` serves both digits versions (TF Serving's default policy serves only the latest), so
    # the README can compare /versions/1 with /versions/2.
    return (
        f"{CONFIG_HEADER}; the next build keeps it once it has been changed.\n"
        f"model_config_list {{\n"
        f"  config {{\n"
        f"    name: {proto_string(HALF_PLUS_TWO_NAME)}\n"
        f"    base_path: {proto_string(str(half_plus_two))}\n"
        f'    model_platform: "tensorflow"\n'
        f"  }}\n"
        f"  config {{\n"
        f"    name: {proto_string(MODEL_NAME)}\n"
        f"    base_path: {proto_string(str(digits))}\n"
        f'    model_platform: "tensorflow"\n'
        f"    model_version_policy {{\n"
        f"      all {{\n"
        f"      }}\n"
        f"    }}\n"
        f"  }}\n"
        f"  config {{\n"
        f"    name: {proto_string(ONNX_MODEL_NAME)}\n"
        f"    base_path: {proto_string(str(digits_onnx))}\n"
        f'    model_platform: "onnx"\n'
        f"    model_version_policy {{\n"
        f"      all {{\n"
        f"      }}\n"
        f"    }}\n"
        f"  }}\n"
        f"}}\n"
    )


def pick_sample(predictions: Sequence[IntArray], labels: IntArray) -> int:
    """Choose the held-out image the README's curls send, by its index.

    The first image the newest version gets right and the oldest gets wrong, so comparing the two
    versions shows the difference on a single request; failing that, the first one the newest
    version gets right.
    """
    if not predictions:
        raise ValueError("BuildParams.versions lists no version to build")
    newest_right = predictions[-1] == labels
    for candidates in (newest_right & (predictions[0] != labels), newest_right):
        found = candidates.nonzero()[0]
        if len(found):
            return int(found[0])
    raise RuntimeError("the newest version misclassifies every held-out image")


def build(out: Path, params: BuildParams, key: str) -> dict[str, Any]:
    """Train, export, verify and publish every version; returns the summary it wrote."""
    started = time.monotonic()
    # Drop the stamp first: an interrupted rebuild must not leave a mix that looks up to date.
    (out / SUMMARY_FILE).unlink(missing_ok=True)

    # Imported here, not at the top: it pulls in TensorFlow, which up-to-date re-runs do not need.
    import digits_model
    import digits_onnx

    base = out / MODEL_NAME
    base.mkdir(exist_ok=True)
    remove_scratch(base)
    onnx_base = out / ONNX_MODEL_NAME
    onnx_base.mkdir(exist_ok=True)
    remove_scratch(onnx_base)
    remove_scratch(out)
    data = digits_model.load_data(params.seed, params.test_fraction)

    versions: dict[str, dict[str, Any]] = {}
    # Served predictions on the held-out split, in build order (oldest version first).
    predictions: list[IntArray] = []
    for version, epochs in params.versions:
        mlp = digits_model.train(
            data,
            epochs=epochs,
            seed=params.seed,
            hidden_units=params.hidden_units,
            batch_size=params.batch_size,
            learning_rate=params.learning_rate,
        )
        scratch = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{version}-", dir=base))
        try:
            os.chmod(scratch, DIR_MODE)
            digits_model.export(mlp, scratch)
            # Verified before it is published: a version that fails the check never appears.
            accuracy, served = digits_model.verify_export(scratch, mlp, data)
            replace_dir(scratch, base / str(version))
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        predictions.append(served)
        versions[str(version)] = {"epochs": epochs, "test_accuracy": round(accuracy, 6)}
        print(f"{MODEL_NAME} version {version}: exported and verified", flush=True)
        # The same weights as ONNX, checked against the SavedModel's answers before publishing.
        scratch = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{version}-", dir=onnx_base))
        try:
            os.chmod(scratch, DIR_MODE)
            digits_onnx.export([v.numpy() for v in mlp.variables], scratch)
            os.chmod(scratch / digits_onnx.MODEL_FILE, FILE_MODE)
            expected = digits_model.probabilities(mlp, data.x_test)
            digits_onnx.verify_export(scratch, data.x_test, expected, served)
            replace_dir(scratch, onnx_base / str(version))
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        print(f"{ONNX_MODEL_NAME} version {version}: exported and verified", flush=True)

    index = pick_sample(predictions, data.y_test)
    pixels = [float(value) for value in data.x_test[index]]
    atomic_write_text(out / PREDICT_SAMPLE_FILE, json.dumps({"instances": [pixels]}) + "\n")
    # json.dumps writes every float with a decimal point (0.0, 1.0), which the REST API needs to
    # turn the list into a float_list rather than an int64_list.
    classify_body = {"signature_name": "classify", "examples": [{"pixels": pixels}]}
    atomic_write_text(out / CLASSIFY_SAMPLE_FILE, json.dumps(classify_body) + "\n")
    write_sample_pictures(out / SAMPLES_DIR, data.x_test, data.y_test, predictions[-1])

    summary: dict[str, Any] = {
        "model": MODEL_NAME,
        "build_key": key,
        "tensorflow": tensorflow_version(),
        "params": asdict(params),
        "test_images": len(data.y_test),
        "versions": versions,
        "sample": {
            "test_index": index,
            "label": int(data.y_test[index]),
            # What each version answers for it, as served: the README quotes these.
            "predicted": {
                str(version): int(answers[index])
                for (version, _), answers in zip(params.versions, predictions, strict=True)
            },
            "predict_body": PREDICT_SAMPLE_FILE,
            "classify_body": CLASSIFY_SAMPLE_FILE,
        },
        "build_seconds": round(time.monotonic() - started, 1),
    }
    # Written last: its presence (with a matching key) is what marks the build complete.
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def write_sample_pictures(directory: Path, images: Any, labels: IntArray, latest: IntArray) -> None:
    """One PNG per digit (``digit_<label>.png``): the first held-out image of that digit the
    latest version classifies right, rendered like a scan (dark ink on white)."""
    from digit_image import write_sample

    directory.mkdir(exist_ok=True)
    for label in range(10):
        index = next(i for i in range(len(labels)) if labels[i] == label and latest[i] == label)
        handle, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".png", dir=directory)
        os.close(handle)
        write_sample(images[index], Path(tmp_name))
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, directory / f"digit_{label}.png")


def report(out: Path, summary: dict[str, Any]) -> None:
    for version, info in sorted(summary["versions"].items(), key=lambda item: int(item[0])):
        print(
            f"{MODEL_NAME} version {version}: {info['epochs']} epochs, "
            f"test accuracy {info['test_accuracy']:.4f} on {summary['test_images']} held-out images"
        )
    sample = summary["sample"]
    answers = ", ".join(f"version {v} says {p}" for v, p in sample["predicted"].items())
    print(f"sample: {out / sample['predict_body']} is a {sample['label']} ({answers})")
    print(f"config: {out / CONFIG_FILE}")
    print(f"summary: {out / SUMMARY_FILE}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--shared",
        type=Path,
        required=True,
        help=f"TF Serving testdata directory holding {HALF_PLUS_TWO_DIR} (served in place)",
    )
    parser.add_argument("--force", action="store_true", help="retrain even if up to date")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    # Served in place, read-only: the config just points at it, so it has to exist.
    half_plus_two = (args.shared / HALF_PLUS_TWO_DIR).resolve()
    if not half_plus_two.is_dir():
        print(f"build_demo: {half_plus_two} is not a directory (check --shared)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)

    params = BuildParams()
    key = build_key(params)
    summary = read_summary(out) if is_up_to_date(out, params, key) else None
    if summary is not None and not args.force:
        print(f"{MODEL_NAME}: up to date, training skipped (--force rebuilds)")
    else:
        summary = build(out, params, key)
        print(f"{MODEL_NAME}: built in {summary['build_seconds']} s")
    # Checked on every run, because it holds absolute paths, which depend on --out and --shared and
    # not on the models. Left alone when unchanged: a server polling it should see no new config.
    config_path = out / CONFIG_FILE
    config_text = model_config_text(half_plus_two, out / MODEL_NAME, out / ONNX_MODEL_NAME)
    existing = config_path.read_text(encoding="utf-8") if config_path.is_file() else None
    if existing is not None and not existing.startswith(CONFIG_HEADER):
        # Rewritten by the admin API (or by hand): a restart must serve what it says.
        print(f"config: kept {config_path}, changed since it was built (delete it to rebuild)")
    elif existing != config_text:
        atomic_write_text(config_path, config_text)
    report(out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
