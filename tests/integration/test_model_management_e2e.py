"""Model management end to end (reference §3.3, §4.1, §4.2; §10 items 33-36): the admin API over
REST and gRPC, the ``--model_config_file`` poller, HandleReloadConfigRequest with label checks
and ``metric_names`` (real TF Serving client), and admin changes surviving a restart.

One server for the module serves a copy of ``saved_model_half_plus_two_2_versions`` (versions 123
and 124, policy ``all``) from a config file polled every second. Each test adds its own models,
so the tests do not depend on their order.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import text_format
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc
from tensorflow_serving.config import model_server_config_pb2

from pyserving.protos import admin_pb2, admin_pb2_grpc
from pyserving.protos import model_server_config_pb2 as our_config_pb2
from tests.integration.grpc_support import failure
from tests.integration.harness import ServerProcess, running_server
from tests.integration.test_startup_e2e import expect_start_failure, failure_line

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TWO = "two"
WITHIN_S = 30.0  # upper bound for "eventually" (a poll period plus a load, on a busy machine)
UNAVAILABLE_LABEL = (
    "Request to assign label to version 999 of model two, which is not currently available for "
    "inference"
)


@dataclass
class Served:
    server: ServerProcess
    http: httpx.Client
    channel: grpc.Channel
    config: Path
    shared: Path

    @property
    def admin(self) -> admin_pb2_grpc.ModelAdminServiceStub:
        return admin_pb2_grpc.ModelAdminServiceStub(self.channel)

    @property
    def models(self) -> model_service_pb2_grpc.ModelServiceStub:
        return model_service_pb2_grpc.ModelServiceStub(self.channel)


def _entry(name: str, base: Path, extra: str = "") -> str:
    return f'config {{ name: "{name}" base_path: "{base}" model_platform: "tensorflow" {extra} }}'


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".new")
    temp.write_text(text)
    os.replace(temp, path)


def _file_config(path: Path) -> model_server_config_pb2.ModelServerConfig:
    return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())


def _eventually(check: Callable[[], bool], what: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not check():
        assert time.monotonic() < deadline, f"not within {WITHIN_S} s: {what}\n{server.output}"
        time.sleep(0.1)


def _states(http: httpx.Client, name: str) -> dict[int, str]:
    reply = http.get(f"/v1/models/{name}")
    if reply.status_code != 200:
        return {}
    return {int(r["version"]): r["state"] for r in reply.json()["model_version_status"]}


def _predict(http: httpx.Client, path: str, x: float = 1.0) -> httpx.Response:
    return http.post(f"/v1/models/{path}:predict", json={"instances": [x]})


@pytest.fixture(scope="module")
def served(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("management")
    two = work / TWO
    shutil.copytree(shared_models / "saved_model_half_plus_two_2_versions", two)
    config = work / "models.config"
    config.write_text(
        f"model_config_list {{ {_entry(TWO, two, 'model_version_policy { all {} }')} }}"
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--model_config_file_poll_wait_seconds=1",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=0",
        "--enable_admin_api",
        f"--model_base_path_allowlist={work},{shared_models}",
    ]
    with (
        running_server(args, f"/v1/models/{TWO}") as server,
        httpx.Client(base_url=server.base_url, timeout=60.0) as http,
        grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
    ):
        _eventually(lambda: _states(http, TWO) == {124: "AVAILABLE", 123: "AVAILABLE"}, TWO, server)
        yield Served(server, http, channel, config, shared_models)


def test_rest_admin_changes_one_model_at_a_time(served: Served) -> None:
    http = served.http
    listed = http.get("/v1/admin/models").json()
    assert listed["config_file"] == str(served.config)
    assert TWO in [m["name"] for m in listed["models"]]

    body = {"base_path": str(served.shared / "saved_model_half_plus_three")}
    reply = http.put("/v1/admin/models/rest_hp3", json=body)
    assert reply.status_code == 201, reply.text
    assert reply.json()["version_policy"] == {"latest": {"num_versions": 1}}
    # The PUT answered once the model was AVAILABLE: it serves right away.
    assert _predict(http, "rest_hp3").json() == {"predictions": [3.5]}
    assert "rest_hp3" in [m.name for m in _file_config(served.config).model_config_list.config]

    reply = http.put(f"/v1/admin/models/{TWO}/labels/rest_stable", json={"version": 123})
    assert reply.status_code == 200, reply.text
    assert reply.json()["version_labels"]["rest_stable"] == 123
    assert _predict(http, f"{TWO}/labels/rest_stable").json() == {"predictions": [2.5]}
    reply = http.put(f"/v1/admin/models/{TWO}/labels/rest_stable", json={"version": 999})
    assert (reply.status_code, reply.json()) == (400, {"error": UNAVAILABLE_LABEL})
    assert reply.headers["content-type"] == "application/json"

    assert http.delete(f"/v1/admin/models/{TWO}/labels/rest_stable").status_code == 200
    assert _predict(http, f"{TWO}/labels/rest_stable").status_code == 400  # unknown label now
    reply = http.delete("/v1/admin/models/rest_hp3")
    assert reply.status_code == 200 and reply.json()["name"] == "rest_hp3"
    _eventually(lambda: _states(http, "rest_hp3") == {123: "END"}, "rest_hp3 END", served.server)
    assert "rest_hp3" not in [m.name for m in _file_config(served.config).model_config_list.config]
    assert http.get("/v1/admin/models/rest_hp3").status_code == 404


def test_grpc_admin_service(served: Served) -> None:
    admin = served.admin
    config = our_config_pb2.ModelConfig(
        name="grpc_hp2",
        base_path=str(served.shared / "saved_model_half_plus_two_cpu"),
        model_platform="tensorflow",
    )
    response = admin.PutModel(admin_pb2.PutModelRequest(config=config), timeout=60)
    assert response.created and response.config == config
    assert _predict(served.http, "grpc_hp2").json() == {"predictions": [2.5]}
    request = admin_pb2.SetVersionLabelRequest(model_name=TWO, label="grpc_canary", version=124)
    assert admin.SetVersionLabel(request).config.version_labels["grpc_canary"] == 124
    names = [m.name for m in admin.ListModels(admin_pb2.ListModelsRequest()).models]
    assert {TWO, "grpc_hp2"} <= set(names)
    request.version = 999
    assert failure(admin.SetVersionLabel, request) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        UNAVAILABLE_LABEL,
    )
    removal = admin_pb2.DeleteVersionLabelRequest(model_name=TWO, label="grpc_canary")
    assert "grpc_canary" not in admin.DeleteVersionLabel(removal).config.version_labels
    assert failure(admin.DeleteVersionLabel, removal)[0] == grpc.StatusCode.NOT_FOUND
    assert admin.DeleteModel(admin_pb2.DeleteModelRequest(name="grpc_hp2")).config == config
    assert failure(admin.GetModel, admin_pb2.GetModelRequest(name="grpc_hp2")) == (
        grpc.StatusCode.NOT_FOUND,
        "Model grpc_hp2 is not in the model config",
    )


def test_handle_reload_config_checks_labels_and_reports_metrics(served: Served) -> None:
    """With the real TF Serving client. The configs sent equal the file's (plus a rejected label),
    so the file poller has nothing to undo."""
    reload = served.models.HandleReloadConfigRequest
    request = model_management_pb2.ReloadConfigRequest(config=_file_config(served.config))
    two = next(c for c in request.config.model_config_list.config if c.name == TWO)
    two.version_labels["moved"] = 999
    assert failure(reload, request, timeout=60) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        UNAVAILABLE_LABEL,
    )
    del two.version_labels["moved"]
    request.metric_names.extend([":tensorflow:serving:request_count", "/not/a/metric"])
    response = reload(request, timeout=60)
    assert response.status.error_code == 0
    increases = {m.name: m.int64_value_increase for m in response.metric}
    assert set(increases) == {":tensorflow:serving:request_count", "/not/a/metric"}
    assert increases["/not/a/metric"] == 0 and increases[":tensorflow:serving:request_count"] >= 0


def test_config_file_poll(served: Served) -> None:
    server, http, path = served.server, served.http, served.config
    original = path.read_text()

    def with_polled(platform: str) -> str:
        base = served.shared / "saved_model_half_plus_two_cpu"
        polled = f'config {{ name: "polled" base_path: "{base}" model_platform: "{platform}" }}'
        return original.rstrip().removesuffix("}") + f"  {polled}\n}}\n"

    _write_atomically(path, with_polled("tensorflow"))
    _eventually(lambda: _states(http, "polled") == {123: "AVAILABLE"}, "polled added", server)

    _write_atomically(path, "model_config_list { config { name: ")
    _eventually(lambda: "Failed to read ModelServerConfig file: " in server.output, "log", server)
    _write_atomically(path, with_polled("fake"))
    message = (
        "PollFilesystemAndReloadConfig failed to ReloadConfig: Illegal to change a model's "
        "platform. For model polled platform was tensorflow and new platform requested is fake"
    )
    _eventually(lambda: message in server.output, "platform change rejected", server)
    assert _predict(http, "polled").json() == {"predictions": [2.5]}  # the old state serves

    _write_atomically(path, original)
    _eventually(lambda: _states(http, "polled") == {123: "END"}, "polled removed", server)
    assert _states(http, TWO) == {124: "AVAILABLE", 123: "AVAILABLE"}


def test_admin_changes_survive_a_restart(shared_models: Path, tmp_path: Path) -> None:
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list { "
        + _entry("hp2", shared_models / "saved_model_half_plus_two_cpu")
        + " }"
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--enable_admin_api",
    ]
    with (
        running_server(args, "/v1/models/hp2") as server,
        httpx.Client(base_url=server.base_url, timeout=60.0) as http,
    ):
        body = {"base_path": str(shared_models / "saved_model_half_plus_three")}
        assert http.put("/v1/admin/models/hp3", json=body).status_code == 201
        assert http.put("/v1/admin/models/hp2/labels/stable", json={"version": 123}).is_success
    text = config.read_text()
    assert "--allow_version_labels_for_unavailable_models" in text  # the file says so

    # TF Serving's rule: labels in a startup config need the flag (nothing is loaded yet).
    failed = expect_start_failure(args, tmp_path)
    assert failure_line(failed) == (
        "Failed to start server. Error: FAILED_PRECONDITION: Request to assign label to version "
        "123 of model hp2, which is not currently available for inference. At startup no "
        "version is loaded yet: start with --allow_version_labels_for_unavailable_models to "
        "accept labels in the startup config"
    )
    with (
        running_server(
            [*args, "--allow_version_labels_for_unavailable_models"], "/v1/models/hp3"
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=60.0) as http,
    ):
        _eventually(lambda: _states(http, "hp3") == {123: "AVAILABLE"}, "hp3", server)
        assert _predict(http, "hp3").json() == {"predictions": [3.5]}
        assert _predict(http, "hp2/labels/stable").json() == {"predictions": [2.5]}
