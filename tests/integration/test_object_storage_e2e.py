"""Models on object storage, end to end: real stores on loopback (moto's S3 server, a GCS
emulator), a real server process, real REST/gRPC clients.

Every model is :mod:`tests.integration.versioned_model`'s ``y = x + version``: an answer to
``x = 0`` names the version that served it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess, running_server
from tests.integration.object_stores import (
    KEY_ID,
    SECRET,
    GcsEmulator,
    MotoServer,
    model_files,
    running,
    upload_dir,
)
from tests.integration.versioned_model import write_versioned_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MODEL = "m"
WITHIN_S = 60.0
WARMUP = "assets.extra/tf_serving_warmup_requests"
BATCHING = "batching_params.pbtxt"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with running(MotoServer()) as server:
        assert isinstance(server, MotoServer)
        yield server


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Local builds of the versioned model (built once per version), with a warmup file of two
    records and per-model batching parameters."""
    root = tmp_path_factory.mktemp("versions")

    def build(version: int) -> Path:
        path = root / str(version)
        if not path.exists():
            write_versioned_model(path, version)
            (path / "assets.extra").mkdir()
            log = prediction_log_pb2.PredictionLog()
            log.predict_log.request.inputs["x"].CopyFrom(tf.make_tensor_proto([0.0], tf.float32))
            with tf.io.TFRecordWriter(str(path / WARMUP)) as writer:
                for _ in range(2):
                    writer.write(log.SerializeToString())
            (path / BATCHING).write_text("max_batch_size { value: 8 }\n")
        return path

    return build


def server_args(base_path: str, cache: Path, *extra: str) -> list[str]:
    return [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={base_path}",
        f"--model_cache_dir={cache}",
        "--file_system_poll_wait_seconds=1",
        *extra,
    ]


def predict(server: ServerProcess, timeout: float = 10.0) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/models/{MODEL}:predict",
        json={"instances": [0.0]},
        timeout=timeout,
    )


def served_version(server: ServerProcess) -> int:
    response = predict(server)
    assert response.status_code == 200, response.text
    return int(response.json()["predictions"][0])


def wait_for(condition: Callable[[], bool], what: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WITHIN_S} s: {what}\n{server.output}")
        if server.process.poll() is not None:
            raise AssertionError(f"server exited while waiting for {what}:\n{server.output}")
        time.sleep(0.2)


def version_states(server: ServerProcess) -> dict[int, str]:
    response = httpx.get(f"{server.base_url}/v1/models/{MODEL}", timeout=5.0)
    if response.status_code != 200:
        return {}
    return {int(v["version"]): v["state"] for v in response.json()["model_version_status"]}


@dataclass(frozen=True)
class Answer:
    start: float
    status: int
    version: int | None


class Clients:
    """Threads predicting through the latest version until stopped; every answer recorded."""

    def __init__(self, server: ServerProcess, count: int = 4) -> None:
        self._server = server
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            url = f"{self._server.base_url}/v1/models/{MODEL}:predict"
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    response = client.post(url, json={"instances": [0.0]})
                    version = (
                        int(response.json()["predictions"][0])
                        if response.status_code == 200
                        else None
                    )
                    answer = Answer(start, response.status_code, version)
                except httpx.HTTPError:
                    answer = Answer(start, 0, None)
                with self._lock:
                    self.answers.append(answer)
                time.sleep(0.01)

    def failures(self) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.status != 200]

    def versions_seen(self) -> set[int | None]:
        with self._lock:
            return {a.version for a in self.answers}

    def first_answer_from(self, version: int) -> float | None:
        with self._lock:
            return min((a.start for a in self.answers if a.version == version), default=None)


def metrics_text(server: ServerProcess) -> str:
    return httpx.get(f"{server.base_url}/monitoring/prometheus/metrics", timeout=5.0).text


def test_s3_model_serves_over_rest_and_grpc_then_restarts_from_its_cache(
    moto: MotoServer, versions: Callable[[int], Path], tmp_path: Path
) -> None:
    fs = moto.filesystem()
    fs.mkdir("serve")
    upload_dir(fs, versions(1), "serve/models/m/1")
    cache = tmp_path / "cache"
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: true }\n")
    args = server_args(
        "s3://serve/models/m",
        cache,
        f"--monitoring_config_file={monitoring}",
        "--enable_batching",
        "--enable_per_model_batching_parameters",
    )
    with running_server(args, "/v1/models/m", env=moto.env()) as server:
        assert served_version(server) == 1
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            request = predict_request(MODEL, x=float_tensor([0.0], [1]))
            reply = stubs(channel).predict.Predict(request, timeout=30)
            assert list(reply.outputs["y"].float_val) == [1.0]
        copy = cache / "s3" / "serve" / "models" / "m" / "1"
        assert (copy / "saved_model.pb").is_file()
        assert "Number of warmup records read: 2" in server.output  # warmup from the bucket
        page = metrics_text(server)
        assert 'pyserving_storage_download_bytes{scheme="s3"}' in page
        assert 'pyserving_batch_size_count{model_name="m"}' in page  # per-model batching file
        assert "Downloaded s3://serve/models/m/1" in server.output
    assert (copy / "saved_model.pb").is_file(), "a shutdown keeps the cache for the next start"
    with running_server(args, "/v1/models/m", env=moto.env()) as server:
        wait_for(lambda: version_states(server) == {1: "AVAILABLE"}, "version 1", server)
        assert served_version(server) == 1
        assert "Using the cached copy of s3://serve/models/m/1" in server.output
        assert "Downloaded s3://serve/models/m/1" not in server.output


def test_s3_versions_serve_only_once_complete_and_go_when_deleted(
    moto: MotoServer, versions: Callable[[int], Path], tmp_path: Path
) -> None:
    fs = moto.filesystem()
    fs.mkdir("publish")
    base = "publish/models/m"
    upload_dir(fs, versions(1), f"{base}/1")
    cache = tmp_path / "cache"
    with (
        running_server(
            server_args(f"s3://{base}", cache), "/v1/models/m", env=moto.env()
        ) as server,
        Clients(server) as clients,
    ):
        wait_for(lambda: clients.versions_seen() == {1}, "answers from version 1", server)
        # Version 2, object by object, the model file last (as exporters write it): never
        # served before that last object is in.
        files = model_files(versions(2))
        order = [f for f in files if f != "saved_model.pb"] + ["saved_model.pb"]
        upload_dir(fs, versions(2), f"{base}/2", order=order, pause_s=0.4)
        complete_2 = time.monotonic()
        wait_for(lambda: 2 in clients.versions_seen(), "clients served by version 2", server)
        first_2 = clients.first_answer_from(2)
        assert first_2 is not None and first_2 > complete_2
        # From now on the publisher writes _READY markers (version 2 gets one late): version 3,
        # its model file first and pauses longer than two polls, is not served before its own
        # marker lands.
        fs.pipe(f"{base}/2/_READY", b"")
        order = ["saved_model.pb"] + [f for f in model_files(versions(3)) if f != "saved_model.pb"]
        upload_dir(fs, versions(3), f"{base}/3", order=order, pause_s=2.5)
        time.sleep(2.5)
        assert 3 not in clients.versions_seen(), "version 3 served before its _READY marker"
        fs.pipe(f"{base}/3/_READY", b"")
        marked_3 = time.monotonic()
        wait_for(lambda: 3 in clients.versions_seen(), "clients served by version 3", server)
        first_3 = clients.first_answer_from(3)
        assert first_3 is not None and first_3 > marked_3
        wait_for(lambda: 2 not in version_states(server) or version_states(server)[2] == "END",
                 "version 2 unloaded", server)  # fmt: skip
        assert not (cache / "s3" / base / "2").exists(), "unloading deletes the cached copy"
        # Deleting version 3 brings version 2 back (latest-1), then drops 3 and its copy.
        fs.rm(f"{base}/3", recursive=True)
        wait_for(lambda: served_version(server) == 2, "version 2 back", server)
        wait_for(lambda: version_states(server).get(3) == "END", "version 3 unloaded", server)
        wait_for(lambda: not (cache / "s3" / base / "3").exists(), "copy of 3 deleted", server)
    assert clients.failures() == [], clients.failures()[:5]
    assert clients.versions_seen() == {1, 2, 3}


def test_s3_store_going_away_keeps_serving_and_recovers(
    versions: Callable[[int], Path], tmp_path: Path
) -> None:
    store = MotoServer()
    store.start()
    try:
        fs = store.filesystem()
        fs.mkdir("outage")
        upload_dir(fs, versions(1), "outage/m/1")
        args = server_args("s3://outage/m", tmp_path / "cache")
        with running_server(args, "/v1/models/m", env=store.env()) as server, Clients(server) as c:
            wait_for(lambda: c.versions_seen() == {1}, "answers from version 1", server)
            store.stop()
            wait_for(lambda: "Listing s3://outage/m failed (2 in a row)" in server.output,
                     "two failed listings", server)  # fmt: skip
            assert "Cannot reach the store holding s3://outage/m" in server.output
            assert c.failures() == [], "loaded versions keep serving while the store is away"
            store.start()  # an empty store again: publish 1 and 2
            fs = store.filesystem()
            fs.mkdir("outage")
            upload_dir(fs, versions(1), "outage/m/1")
            upload_dir(fs, versions(2), "outage/m/2")
            wait_for(lambda: served_version(server) == 2, "version 2 after recovery", server)
            assert "Listing s3://outage/m works again" in server.output
        assert c.failures() == []
    finally:
        store.stop()


def test_s3_access_denied_and_missing_credentials_are_clear_errors(
    versions: Callable[[int], Path], tmp_path: Path
) -> None:
    import boto3

    # IAM checks start after the three requests that create an administrator.
    with running(MotoServer(initial_no_auth_actions=3)) as store:
        assert isinstance(store, MotoServer)

        def iam(key: str, secret: str) -> Any:
            return boto3.client("iam", endpoint_url=store.url, region_name="us-east-1",
                                aws_access_key_id=key, aws_secret_access_key=secret)  # fmt: skip

        def user(client: Any, name: str, actions: list[str]) -> dict[str, str]:
            client.create_user(UserName=name)
            key: dict[str, str] = client.create_access_key(UserName=name)["AccessKey"]
            statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
            client.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [statement]}))  # fmt: skip
            return key

        admin = user(iam(KEY_ID, SECRET), "admin", ["*"])
        admin_iam = iam(admin["AccessKeyId"], admin["SecretAccessKey"])
        fs = store.filesystem(admin["AccessKeyId"], admin["SecretAccessKey"])
        fs.mkdir("private")
        upload_dir(fs, versions(1), "private/m/1")
        # moto checks listings as s3:ListObjectsV2 (AWS as s3:ListBucket): allow both.
        lister = user(admin_iam, "lister", ["s3:ListBucket", "s3:ListObjectsV2"])
        args = server_args("s3://private/m", tmp_path / "cache", "--max_num_load_retries=0")
        server = ServerProcess(
            args, env=store.env(lister["AccessKeyId"], lister["SecretAccessKey"])
        )
        try:
            assert server.wait_exit() == 255
        finally:
            server.stop()
        assert "Failed to start server" in server.output
        assert "Access denied reading s3://private/m/1" in server.output
        assert "s3:GetObject" in server.output
        assert not list((tmp_path / "cache" / ".partial").iterdir())

    # No credentials anywhere: listing says which variables to set.
    nowhere = str(tmp_path / "absent")
    env = {"AWS_ENDPOINT_URL": store.url, "AWS_SHARED_CREDENTIALS_FILE": nowhere,
           "AWS_CONFIG_FILE": nowhere, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}  # fmt: skip
    server = ServerProcess(server_args("s3://private/m", tmp_path / "cache2"), env=env)
    try:
        deadline = time.monotonic() + WITHIN_S
        while "No valid credentials to read s3://private/m" not in server.output:
            assert time.monotonic() < deadline, server.output
            assert server.process.poll() is None or "No valid credentials" in server.output
            time.sleep(0.2)
        assert "AWS_ACCESS_KEY_ID" in server.output
    finally:
        server.stop()


def test_gcs_models_from_a_config_file_and_the_admin_api(
    versions: Callable[[int], Path], tmp_path: Path
) -> None:
    with running(GcsEmulator()) as store:
        assert isinstance(store, GcsEmulator)
        fs = store.filesystem()
        fs.mkdir("gmodels")
        upload_dir(fs, versions(1), "gmodels/m/1")
        upload_dir(fs, versions(2), "gmodels/other/2")
        cache = tmp_path / "cache"
        config = tmp_path / "models.config"
        config.write_text(
            'model_config_list { config { name: "m" base_path: "gs://gmodels/m" '
            'model_platform: "tensorflow" } }\n'
        )
        args = [
            "--port={grpc_port}",
            "--rest_api_port={rest_port}",
            f"--model_config_file={config}",
            f"--model_cache_dir={cache}",
            "--file_system_poll_wait_seconds=1",
            "--enable_admin_api",
        ]
        with running_server(args, "/v1/models/m", env=store.env()) as server:
            assert served_version(server) == 1
            with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
                request = predict_request(MODEL, x=float_tensor([0.0], [1]))
                reply = stubs(channel).predict.Predict(request, timeout=30)
                assert list(reply.outputs["y"].float_val) == [1.0]
            # The admin API takes a gs:// base path like any other (and writes it to the file).
            added = httpx.put(
                f"{server.base_url}/v1/admin/models/other",
                json={"base_path": "gs://gmodels/other"},
                timeout=120.0,
            )
            assert added.status_code == 201, added.text
            other = httpx.post(f"{server.base_url}/v1/models/other:predict",
                               json={"instances": [0.0]}, timeout=10.0)  # fmt: skip
            assert other.json() == {"predictions": [2.0]}
            assert "gs://gmodels/other" in config.read_text()
            # New and deleted versions are followed as on a local disk.
            upload_dir(fs, versions(2), "gmodels/m/2")
            wait_for(lambda: served_version(server) == 2, "version 2 served", server)
            assert (cache / "gs" / "gmodels" / "m" / "2" / "saved_model.pb").is_file()
            fs.rm("gmodels/m/2", recursive=True)
            wait_for(lambda: served_version(server) == 1, "version 1 back", server)
            wait_for(lambda: not (cache / "gs" / "gmodels" / "m" / "2").exists(),
                     "copy of 2 deleted", server)  # fmt: skip


def test_s3_onnx_model_serves_over_rest_grpc_and_v2(moto: MotoServer, tmp_path: Path) -> None:
    """An ONNX version in a bucket: downloaded, detected and served like a local one."""
    from tests import onnx_models

    local = onnx_models.write_version(tmp_path / "local", 1, onnx_models.half_plus_two())
    fs = moto.filesystem()
    fs.mkdir("onnx")
    upload_dir(fs, local, "onnx/models/hp2/1")
    config = tmp_path / "models.config"
    config.write_text(
        'model_config_list { config { name: "hp2" base_path: "s3://onnx/models/hp2" '
        'model_platform: "onnx" } }\n'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--model_cache_dir={tmp_path / 'cache'}",
    ]
    with running_server(args, "/v1/models/hp2", env=moto.env()) as server:
        wait_for(
            lambda: httpx.get(f"{server.base_url}/v1/models/hp2").status_code == 200,
            "hp2 status",
            server,
        )
        rest = httpx.post(
            f"{server.base_url}/v1/models/hp2:predict", json={"instances": [1.0, 2.0]}
        )
        assert rest.status_code == 200, rest.text
        assert rest.json()["predictions"] == [2.5, 3.0]
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            request = predict_request("hp2", x=float_tensor([4.0], [1]))
            reply = stubs(channel).predict.Predict(request, timeout=30)
            assert list(reply.outputs["y"].float_val) == [4.0]
        v2 = httpx.post(
            f"{server.base_url}/v2/models/hp2/infer",
            json={"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [6]}]},
        )
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == [5.0]
        assert (
            tmp_path / "cache" / "s3" / "onnx" / "models" / "hp2" / "1" / "model.onnx"
        ).is_file()
