"""Remote base paths that cannot be listed, end to end: no bucket, access denied, no credentials,
an unreachable store. Real stores on loopback (moto's S3 server, a GCS emulator), a real server.

Each error must show up three ways: at start-up (a configuration error ends the server with exit
255; an unreachable store does not), as the model's status (REST and gRPC GetModelStatus, while the
server runs), and as a quick refusal of an admin change naming that base path (admin API,
HandleReloadConfigRequest, V2 repository load), with the code of the error.

The server starts with an empty model list and a polled config file: writing a model into that
file is how a broken base path gets served (a config file is the operator's and is not refused).
Models are ONNX (no TensorFlow to load), ``y = 0.5 x + 2``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from pyserving.admin import ModelAdminServiceStub, admin_pb2
from pyserving.protos import model_management_pb2
from tests import onnx_models
from tests.integration.grpc_support import status_request, stubs
from tests.integration.harness import ServerProcess, running_server
from tests.integration.object_stores import (
    KEY_ID,
    SECRET,
    GcsEmulator,
    MotoServer,
    running,
    upload_dir,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

WITHIN_S = 60.0
ADMIN_TIMEOUT_S = 300.0
"""The timeout the admin calls are given: the refusals must come long before it."""
QUICK_S = 60.0
"""An answer before this many seconds is the quick refusal, not a wait for a timeout."""


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with running(MotoServer()) as server:
        assert isinstance(server, MotoServer)
        yield server


@pytest.fixture(scope="module")
def onnx_version(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnx")
    return onnx_models.write_version(root, 1, onnx_models.half_plus_two())


class Served:
    """A server whose model list is a polled config file, with the admin API on."""

    def __init__(self, tmp_path: Path, env: dict[str, str], allow: str) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.config = tmp_path / "models.config"
        self.config.write_text("model_config_list {}\n")
        self.args = [
            "--port={grpc_port}",
            "--rest_api_port={rest_port}",
            f"--model_config_file={self.config}",
            "--model_config_file_poll_wait_seconds=1",
            "--file_system_poll_wait_seconds=1",
            f"--model_cache_dir={tmp_path / 'cache'}",
            "--enable_admin_api",
            "--enable_console",
            f"--model_base_path_allowlist={allow}",
        ]
        self.env = env

    @staticmethod
    def serve(server: ServerProcess, name: str, base_path: str) -> None:
        """Serve ``name`` from ``base_path`` through the config file (applied unchecked)."""
        entry = f'config {{ name: "{name}" base_path: "{base_path}" model_platform: "onnx" }}'
        flag = next(a for a in server.args if a.startswith("--model_config_file="))
        config = Path(flag.split("=", 1)[1])
        scratch = config.with_suffix(".new")
        scratch.write_text(f"model_config_list {{ {entry} }}\n")
        scratch.replace(config)  # atomically: the poller never reads half a file


def start(tmp_path: Path, env: dict[str, str], allow: str) -> Any:
    served = Served(tmp_path, env, allow)
    return running_server(served.args, "/v1/models/none", env=env)


def rest_statuses(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.base_url}/v1/models/{name}", timeout=10.0)
    if response.status_code != 200:
        return []
    rows: list[dict[str, Any]] = response.json()["model_version_status"]
    return rows


def grpc_statuses(server: ServerProcess, name: str) -> list[tuple[int, str, str, str]]:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        reply = stubs(channel).models.GetModelStatus(status_request(name), timeout=10)
    from pyserving.protos import error_codes_pb2, get_model_status_pb2

    state = get_model_status_pb2.ModelVersionStatus.State.Name
    return [
        (
            s.version,
            state(s.state),
            error_codes_pb2.Code.Name(s.status.error_code),
            s.status.error_message,
        )
        for s in reply.model_version_status
    ]


def wait_for(condition: Callable[[], bool], what: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WITHIN_S} s: {what}\n{server.output}")
        if server.process.poll() is not None:
            raise AssertionError(f"server exited while waiting for {what}:\n{server.output}")
        time.sleep(0.2)


def base_path_error(server: ServerProcess, name: str, state: str, code: str, text: str) -> None:
    """The model's status is one version-0 row carrying the base path's error, over REST and
    gRPC alike."""

    def shown() -> bool:
        rows = rest_statuses(server, name)
        return any(r["version"] == "0" and r["state"] == state for r in rows)

    wait_for(shown, f"{name}: version 0 {state} over REST", server)
    (row,) = rest_statuses(server, name)
    assert row["status"]["error_code"] == code, row
    assert text in row["status"]["error_message"], row
    ((version, grpc_state, grpc_code, message),) = grpc_statuses(server, name)
    assert (version, grpc_state, grpc_code) == (0, state, code)
    assert text in message


def admin_refusals(server: ServerProcess, name: str, base_path: str) -> dict[str, Any]:
    """Ask for ``base_path`` through every admin entry point: each must refuse it quickly.
    Returns what each answered: REST admin (HTTP code, message), gRPC admin and
    HandleReloadConfigRequest (status code, message), V2 repository load (HTTP code, message)."""
    answers: dict[str, Any] = {}
    started = time.monotonic()
    put = httpx.put(
        f"{server.base_url}/v1/admin/models/{name}",
        json={"base_path": base_path, "platform": "onnx"},
        timeout=ADMIN_TIMEOUT_S,
    )
    answers["rest"] = (put.status_code, put.json().get("error", ""))
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        request = admin_pb2.PutModelRequest()
        request.config.name = name
        request.config.base_path = base_path
        request.config.model_platform = "onnx"
        try:
            ModelAdminServiceStub(channel).PutModel(request, timeout=ADMIN_TIMEOUT_S)
            answers["grpc"] = (grpc.StatusCode.OK, "")
        except grpc.RpcError as error:
            answers["grpc"] = (error.code(), error.details())
        reload = model_management_pb2.ReloadConfigRequest()
        entry = reload.config.model_config_list.config.add()
        entry.name, entry.base_path, entry.model_platform = name, base_path, "onnx"
        try:
            stubs(channel).models.HandleReloadConfigRequest(reload, timeout=ADMIN_TIMEOUT_S)
            answers["reload"] = (grpc.StatusCode.OK, "")
        except grpc.RpcError as error:
            answers["reload"] = (error.code(), error.details())
    load = httpx.post(
        f"{server.base_url}/v2/repository/models/{name}/load",
        json={"parameters": {"config": json.dumps({"base_path": base_path,
                                                   "platform": "onnx"})}},
        timeout=ADMIN_TIMEOUT_S,
    )  # fmt: skip
    answers["v2"] = (load.status_code, load.json().get("error", ""))
    answers["seconds"] = time.monotonic() - started
    return answers


def assert_refused(answers: dict[str, Any], http: int, code: grpc.StatusCode, text: str) -> None:
    assert answers["seconds"] < 4 * QUICK_S, answers  # four calls, none waiting for a timeout
    assert answers["rest"][0] == http and text in answers["rest"][1], answers
    assert answers["grpc"][0] is code and text in answers["grpc"][1], answers
    assert answers["reload"][0] is code and text in answers["reload"][1], answers
    assert answers["v2"][0] == http and text in answers["v2"][1], answers


def onnx_predict(server: ServerProcess, name: str) -> httpx.Response:
    url = f"{server.base_url}/v1/models/{name}:predict"
    return httpx.post(url, json={"instances": [2.0]}, timeout=10.0)


def test_a_missing_bucket_ends_the_startup_with_exit_255(moto: MotoServer, tmp_path: Path) -> None:
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", "--model_name=m",
            "--model_base_path=s3://nobucket/models/m",
            f"--model_cache_dir={tmp_path}"]  # fmt: skip
    server = ServerProcess(args, env=moto.env())
    try:
        assert server.wait_exit(timeout=WITHIN_S) == 255
    finally:
        server.stop()
    assert "Failed to start server. Error: NOT_FOUND: s3://nobucket/models/m: bucket " in (
        server.output
    )
    assert "'nobucket' does not exist (NoSuchBucket): check the bucket name" in server.output


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_a_missing_bucket_is_the_models_status_and_an_admin_error_until_it_exists(
    scheme: str, moto: MotoServer, onnx_version: Path, tmp_path: Path
) -> None:
    store: MotoServer | GcsEmulator = moto if scheme == "s3" else GcsEmulator()
    if isinstance(store, GcsEmulator):
        store.start()
    try:
        env = store.env()
        bucket = f"later-{scheme}"
        base = f"{scheme}://{bucket}/models/hp2"
        with start(tmp_path, env, f"{scheme}://{bucket}") as server:
            answers = admin_refusals(server, "hp2", base)
            assert_refused(answers, 404, grpc.StatusCode.NOT_FOUND, f"bucket '{bucket}' does not")
            Served.serve(server, "hp2", base)
            base_path_error(server, "hp2", "END", "NOT_FOUND", f"{base}: bucket '{bucket}' does")
            ready = httpx.get(f"{server.base_url}/v2/models/hp2/ready", timeout=10.0)
            assert ready.status_code != 200
            metadata = httpx.get(f"{server.base_url}/v2/models/hp2", timeout=10.0)
            assert metadata.status_code == 404
            assert f"bucket '{bucket}' does not exist" in metadata.json()["error"]
            console = httpx.get(f"{server.base_url}/console/api/models", timeout=10.0).json()
            (row,) = next(m for m in console["models"] if m["name"] == "hp2")["versions"]
            assert (row["version"], row["state"], row["error_code"]) == (0, "END", "NOT_FOUND")
            # Once the bucket exists and holds a version, the error goes and the version serves.
            fs: Any = store.filesystem()
            fs.mkdir(bucket)
            upload_dir(fs, onnx_version, f"{bucket}/models/hp2/1")
            wait_for(lambda: onnx_predict(server, "hp2").status_code == 200, "hp2 served", server)
            assert onnx_predict(server, "hp2").json() == {"predictions": [3.0]}
            assert [r["version"] for r in rest_statuses(server, "hp2")] == ["1"]
            assert [row[:3] for row in grpc_statuses(server, "hp2")] == [(1, "AVAILABLE", "OK")]
    finally:
        if isinstance(store, GcsEmulator):
            store.stop()


def test_s3_access_denied_and_missing_credentials_are_the_status_and_admin_errors(
    tmp_path: Path,
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
        fs = store.filesystem(admin["AccessKeyId"], admin["SecretAccessKey"])
        fs.mkdir("private")
        fs.pipe("private/m/1/model.onnx", b"not listed anyway")
        # A reader that may fetch objects but not list them.
        reader = user(iam(admin["AccessKeyId"], admin["SecretAccessKey"]), "reader",
                      ["s3:GetObject"])  # fmt: skip
        env = store.env(reader["AccessKeyId"], reader["SecretAccessKey"])
        with start(tmp_path / "denied", env, "s3://private") as server:
            answers = admin_refusals(server, "m", "s3://private/m")
            assert_refused(answers, 403, grpc.StatusCode.PERMISSION_DENIED, "s3:ListBucket")
            Served.serve(server, "m", "s3://private/m")
            base_path_error(server, "m", "END", "PERMISSION_DENIED",
                            "Access denied reading s3://private/m")  # fmt: skip

        # No credentials anywhere: the server has none to offer the store (not the caller's
        # fault: FAILED_PRECONDITION, HTTP 400, never 401).
        nowhere = str(tmp_path / "absent")
        env = {"AWS_ENDPOINT_URL": store.url, "AWS_SHARED_CREDENTIALS_FILE": nowhere,
               "AWS_CONFIG_FILE": nowhere, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}  # fmt: skip
        with start(tmp_path / "anonymous", env, "s3://private") as server:
            answers = admin_refusals(server, "m", "s3://private/m")
            assert_refused(answers, 400, grpc.StatusCode.FAILED_PRECONDITION, "AWS_ACCESS_KEY_ID")
            Served.serve(server, "m", "s3://private/m")
            base_path_error(server, "m", "END", "FAILED_PRECONDITION",
                            "No valid credentials to read s3://private/m")  # fmt: skip


def test_an_unreachable_store_is_retried_and_serves_once_it_answers(
    onnx_version: Path, tmp_path: Path
) -> None:
    store = MotoServer()  # its port is chosen, nothing listens there yet
    try:
        # One connection attempt per listing (botocore's standard setting; its default retries a
        # refused connection for about 7 s).
        env = dict(store.env(), AWS_MAX_ATTEMPTS="1")
        with start(tmp_path, env, "s3://late") as server:
            answers = admin_refusals(server, "hp2", "s3://late/hp2")
            assert_refused(answers, 503, grpc.StatusCode.UNAVAILABLE, "AWS_ENDPOINT_URL")
            Served.serve(server, "hp2", "s3://late/hp2")
            base_path_error(server, "hp2", "START", "UNAVAILABLE",
                            "Cannot reach the store holding s3://late/hp2")  # fmt: skip
            assert server.process.poll() is None
            store.start()
            fs = store.filesystem()
            fs.mkdir("late")
            upload_dir(fs, onnx_version, "late/hp2/1")
            wait_for(lambda: onnx_predict(server, "hp2").status_code == 200, "hp2 served", server)
            assert [r["version"] for r in rest_statuses(server, "hp2")] == ["1"]
            assert [row[:3] for row in grpc_statuses(server, "hp2")] == [(1, "AVAILABLE", "OK")]
            assert "Listing s3://late/hp2 works again" in server.output
    finally:
        store.stop()


def test_an_unreachable_store_at_startup_is_retried_not_fatal(tmp_path: Path) -> None:
    store = MotoServer()  # never started: nothing listens on its port
    config = tmp_path / "models.config"
    config.write_text('model_config_list { config { name: "hp2" base_path: "s3://boot/hp2" '
                      'model_platform: "onnx" } }\n')  # fmt: skip
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}",
            f"--model_cache_dir={tmp_path / 'cache'}",
            "--file_system_poll_wait_seconds=1"]  # fmt: skip
    server = ServerProcess(args, env=dict(store.env(), AWS_MAX_ATTEMPTS="1"))
    try:
        wait_for(lambda: "Listing s3://boot/hp2 failed (3 in a row)" in server.output,
                 "three failed listings", server)  # fmt: skip
        assert "Cannot reach the store holding s3://boot/hp2" in server.output
        assert "Failed to start server" not in server.output
    finally:
        server.stop()
