"""Who may call what, end to end: scoped tokens on every protocol (REST and gRPC, TF Serving's
APIs and the admin API), the admin API's default (off without tokens), safe base paths through
every admin entry point with an audit line each, token reload, and HTTPS / mutual TLS on the REST
port with certificates made for the test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from tensorflow_serving.apis import model_management_pb2

from pyserving.protos import admin_pb2, admin_pb2_grpc, model_server_config_pb2
from pyserving.protos import grpc_predict_v2_pb2 as v2
from pyserving.protos import grpc_predict_v2_pb2_grpc as v2_grpc
from pyserving.security.scopes import Scope
from pyserving.security.tokens import entry_json, new_token
from tests.integration.grpc_support import (
    Stubs,
    failure,
    float_tensor,
    make_pki,
    metadata_request,
    predict_request,
    status_request,
    stubs,
    text_string,
)
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

MODEL = "hp"
METRICS_PATH = "/monitoring/prometheus/metrics"
WAIT_S = 60.0


@dataclass
class Secured:
    server: ServerProcess
    tokens: dict[str, str]  # scope name (or "all") -> token
    tokens_file: Path
    models: Path  # the allowlist root (the start-up model's parent directory)
    shared: Path
    channel: grpc.Channel

    @property
    def stubs(self) -> Stubs:
        return stubs(self.channel)

    @property
    def admin(self) -> admin_pb2_grpc.ModelAdminServiceStub:
        return admin_pb2_grpc.ModelAdminServiceStub(self.channel)

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens.get(who, who)}"}

    def metadata(self, who: str | None) -> list[tuple[str, str]]:
        return [] if who is None else [("authorization", f"Bearer {self.tokens.get(who, who)}")]


def _write_tokens(path: Path, tokens: dict[str, tuple[str, list[Scope]]]) -> None:
    entries = [entry_json(name, token, scopes) for name, (token, scopes) in tokens.items()]
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"tokens": entries}))
    os.replace(temp, path)


def _token_table() -> dict[str, tuple[str, list[Scope]]]:
    table = {scope.value: (new_token(), [scope]) for scope in Scope}
    table["all"] = (new_token(), list(Scope))
    return table


@pytest.fixture(scope="module")
def secured(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    work = tmp_path_factory.mktemp("security")
    models = work / "models"
    shutil.copytree(shared_models / "saved_model_half_plus_three", models / MODEL)
    table = _token_table()
    tokens_file = work / "tokens.json"
    _write_tokens(tokens_file, table)
    monitoring = work / "monitoring.config"
    monitoring.write_text(f'prometheus_config {{ enable: true, path: "{METRICS_PATH}" }}\n')
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={models / MODEL}",
        f"--auth_tokens_file={tokens_file}",
        f"--monitoring_config_file={monitoring}",
        "--enable_grpc_healthcheck_service",
        "--enable_console",
    ]
    with running_server(args, "/readyz") as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        ready = Secured(
            server,
            {name: token for name, (token, _) in table.items()},
            tokens_file,
            models,
            shared_models,
            channel,
        )
        _eventually(lambda: _available(ready), "model available", server)
        yield ready
        channel.close()


def _available(secured: Secured) -> bool:
    reply = httpx.get(
        f"{secured.server.base_url}/v1/models/{MODEL}", headers=secured.headers("all")
    )
    return reply.status_code == 200 and reply.json()["model_version_status"][0]["state"] == (
        "AVAILABLE"
    )


def _eventually(check: Callable[[], bool], what: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT_S}s\n{server.output}")
        time.sleep(0.1)


# -- every operation x every kind of caller -----------------------------------------------------

RestCall = tuple[str, str, object]
V2_INPUT = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
# operation -> (scope, request, status with the right scope)
REST_OPERATIONS: dict[str, tuple[Scope, RestCall, int]] = {
    "tfs predict": (
        Scope.INFER,
        ("POST", f"/v1/models/{MODEL}:predict", {"instances": [1.0]}),
        200,
    ),
    "tfs status": (Scope.READ, ("GET", f"/v1/models/{MODEL}", None), 200),
    "tfs metadata": (Scope.READ, ("GET", f"/v1/models/{MODEL}/metadata", None), 200),
    "v2 infer": (Scope.INFER, ("POST", f"/v2/models/{MODEL}/infer", V2_INPUT), 200),
    "v2 model metadata": (Scope.READ, ("GET", f"/v2/models/{MODEL}", None), 200),
    "v2 server metadata": (Scope.READ, ("GET", "/v2", None), 200),
    "v2 repository index": (Scope.READ, ("POST", "/v2/repository/index", {}), 200),
    # A model that is not there: the right scope gets past the check to the repository's 404.
    "v2 repository unload": (Scope.ADMIN, ("POST", "/v2/repository/models/nope/unload", {}), 404),
    "admin list": (Scope.ADMIN, ("GET", "/v1/admin/models", None), 200),
    "admin get": (Scope.ADMIN, ("GET", f"/v1/admin/models/{MODEL}", None), 200),
    "console models": (Scope.READ, ("GET", "/console/api/models", None), 200),
    "console metrics": (Scope.READ, ("GET", "/console/api/metrics", None), 200),
    "metrics": (Scope.METRICS, ("GET", METRICS_PATH, None), 200),
}


def _other_scope(scope: Scope) -> str:
    return next(s.value for s in Scope if s is not scope)


@pytest.mark.parametrize("operation", sorted(REST_OPERATIONS))
def test_rest_scopes(secured: Secured, operation: str) -> None:
    scope, (method, path, body), succeeded = REST_OPERATIONS[operation]
    url = secured.server.base_url + path

    def call(who: str | None) -> httpx.Response:
        return httpx.request(method, url, json=body, headers=secured.headers(who), timeout=30)

    missing = call(None)
    assert missing.status_code == 401, missing.text
    assert "needs a token with the" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = call("psv_not-a-token")
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["error"]
    denied = call(_other_scope(scope))
    assert denied.status_code == 403
    assert f"needs '{scope.value}'" in denied.json()["error"]
    allowed = call(scope.value)
    assert allowed.status_code == succeeded, allowed.text
    assert call("all").status_code == succeeded


def _grpc_operations(secured: Secured) -> dict[str, tuple[Scope, Callable[..., object]]]:
    s, admin = secured.stubs, secured.admin
    predict = predict_request(MODEL, x=float_tensor([1.0], [1]))
    reload = model_management_pb2.ReloadConfigRequest()
    entry = reload.config.model_config_list.config.add()
    entry.name, entry.base_path, entry.model_platform = (
        MODEL,
        str(secured.models / MODEL),
        "tensorflow",
    )
    return {
        "Predict": (Scope.INFER, lambda md: s.predict.Predict(predict, metadata=md, timeout=30)),
        "GetModelStatus": (
            Scope.READ,
            lambda md: s.models.GetModelStatus(status_request(MODEL), metadata=md, timeout=30),
        ),
        "GetModelMetadata": (
            Scope.READ,
            lambda md: s.predict.GetModelMetadata(
                metadata_request(MODEL, "signature_def"), metadata=md, timeout=30
            ),
        ),
        "HandleReloadConfigRequest": (
            Scope.ADMIN,
            lambda md: s.models.HandleReloadConfigRequest(reload, metadata=md, timeout=60),
        ),
        "ModelAdminService.ListModels": (
            Scope.ADMIN,
            lambda md: admin.ListModels(admin_pb2.ListModelsRequest(), metadata=md, timeout=30),
        ),
        "V2 ModelInfer": (
            Scope.INFER,
            lambda md: v2_grpc.GRPCInferenceServiceStub(secured.channel).ModelInfer(
                _v2_request(), metadata=md, timeout=30
            ),
        ),
        "V2 ModelMetadata": (
            Scope.READ,
            lambda md: v2_grpc.GRPCInferenceServiceStub(secured.channel).ModelMetadata(
                v2.ModelMetadataRequest(name=MODEL), metadata=md, timeout=30
            ),
        ),
        "V2 RepositoryModelUnload": (
            Scope.ADMIN,
            lambda md: v2_grpc.GRPCInferenceServiceStub(secured.channel).RepositoryModelUnload(
                v2.RepositoryModelUnloadRequest(model_name="nope"), metadata=md, timeout=30
            ),
        ),
        "V2 RepositoryIndex": (
            Scope.READ,
            lambda md: v2_grpc.GRPCInferenceServiceStub(secured.channel).RepositoryIndex(
                v2.RepositoryIndexRequest(), metadata=md, timeout=30
            ),
        ),
    }


EXPECTED_GRPC_ERRORS = {"V2 RepositoryModelUnload"}  # of a model that is not there: NOT_FOUND


def _v2_request() -> v2.ModelInferRequest:
    request = v2.ModelInferRequest(model_name=MODEL)
    tensor = request.inputs.add(name="x", datatype="FP32", shape=[1])
    tensor.contents.fp32_contents.append(1.0)
    return request


@pytest.mark.parametrize(
    "operation",
    [
        "Predict",
        "GetModelStatus",
        "GetModelMetadata",
        "HandleReloadConfigRequest",
        "ModelAdminService.ListModels",
        "V2 ModelInfer",
        "V2 ModelMetadata",
        "V2 RepositoryIndex",
        "V2 RepositoryModelUnload",
    ],
)
def test_grpc_scopes(secured: Secured, operation: str) -> None:
    scope, call = _grpc_operations(secured)[operation]

    def refused(who: str | None) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as caught:
            call(secured.metadata(who))
        return caught.value.code(), caught.value.details() or ""

    code, message = refused(None)
    assert code == grpc.StatusCode.UNAUTHENTICATED and "needs a token" in message
    assert refused("psv_not-a-token")[0] == grpc.StatusCode.UNAUTHENTICATED
    code, message = refused(_other_scope(scope))
    assert code == grpc.StatusCode.PERMISSION_DENIED and f"needs '{scope.value}'" in message
    try:
        call(secured.metadata(scope.value))
    except grpc.RpcError as error:  # past the check: the operation's own answer
        assert error.code() not in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        ), error
        assert operation in EXPECTED_GRPC_ERRORS, error


def test_probes_and_grpc_health_stay_open(secured: Secured) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    assert httpx.get(secured.server.base_url + "/readyz").status_code == 200
    health = health_pb2_grpc.HealthStub(secured.channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_failures_are_counted_and_logged_without_the_token(secured: Secured) -> None:
    secret = "psv_this-must-never-be-logged"
    httpx.get(
        f"{secured.server.base_url}/v1/models/{MODEL}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    with pytest.raises(grpc.RpcError):
        secured.stubs.models.GetModelStatus(
            status_request(MODEL), metadata=[("authorization", f"Bearer {secret}")], timeout=30
        )
    page = httpx.get(
        secured.server.base_url + METRICS_PATH, headers=secured.headers("metrics")
    ).text
    counted = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in page.splitlines()
        if line.startswith("pyserving_auth_failures_total{")
    }
    assert counted['pyserving_auth_failures_total{reason="invalid",protocol="rest"}'] >= 1
    assert counted['pyserving_auth_failures_total{reason="invalid",protocol="grpc"}'] >= 1
    assert "Refused a rest request: invalid token" in secured.server.output
    assert secret not in secured.server.output
    for token in secured.tokens.values():
        assert token not in secured.server.output


# -- safe admin operations ------------------------------------------------------------------------


def _bad_paths(secured: Secured) -> dict[str, tuple[str, int]]:
    escape = secured.models / "escape"
    if not escape.is_symlink():
        escape.symlink_to(secured.shared / "saved_model_half_plus_two_cpu")
    return {
        "dotdot": (f"{secured.models}/../../etc", 400),
        "outside": (str(secured.shared / "saved_model_half_plus_two_cpu"), 403),
        "symlink": (str(escape), 403),
        "scheme": ("http://example.com/models/x", 400),
        "relative": ("models/x", 400),
    }


_GRPC_CODE = {400: grpc.StatusCode.INVALID_ARGUMENT, 403: grpc.StatusCode.PERMISSION_DENIED}


def test_base_paths_outside_the_allowlist_are_refused_by_every_entry_point(
    secured: Secured,
) -> None:
    http = httpx.Client(base_url=secured.server.base_url, headers=secured.headers("admin"))
    md = secured.metadata("admin")
    for kind, (path, status) in _bad_paths(secured).items():
        reply = http.put("/v1/admin/models/evil", json={"base_path": path}, timeout=30)
        assert reply.status_code == status, (kind, reply.text)
        assert "base_path" in reply.json()["error"]

        config = model_server_config_pb2.ModelConfig(
            name="evil", base_path=path, model_platform="tensorflow"
        )
        code, message = failure(
            secured.admin.PutModel, admin_pb2.PutModelRequest(config=config), metadata=md
        )
        assert (code, "base_path" in message) == (_GRPC_CODE[status], True), kind

        reload = model_management_pb2.ReloadConfigRequest()
        listed = reload.config.model_config_list.config
        listed.add(name=MODEL, base_path=str(secured.models / MODEL), model_platform="tensorflow")
        listed.add(name="evil", base_path=path, model_platform="tensorflow")
        code, message = failure(
            secured.stubs.models.HandleReloadConfigRequest, reload, metadata=md, timeout=60
        )
        assert (code, "base_path" in message) == (_GRPC_CODE[status], True), kind

        load = {"parameters": {"config": json.dumps({"base_path": path})}}
        reply = http.post("/v2/repository/models/evil/load", json=load, timeout=30)
        assert reply.status_code == status, (kind, reply.text)
        assert "base_path" in reply.json()["error"]
    assert http.get("/v1/admin/models/evil").status_code == 404  # nothing was added
    assert "admin change by admin via admin API: added evil=" in secured.server.output
    assert "admin change by admin via HandleReloadConfigRequest: added evil=" in (
        secured.server.output
    )
    assert "admin change by admin via V2 repository load: added evil=" in secured.server.output


def test_allowed_change_is_audited_with_the_token_name(secured: Secured) -> None:
    other = secured.models / "other"
    if not other.exists():
        shutil.copytree(secured.models / MODEL, other)
    http = httpx.Client(base_url=secured.server.base_url, headers=secured.headers("all"))
    reply = http.put("/v1/admin/models/other", json={"base_path": str(other)}, timeout=60)
    assert reply.status_code == 201, reply.text
    assert http.delete("/v1/admin/models/other", timeout=60).status_code == 200
    output = secured.server.output
    assert f"admin change by all via admin API: added other={other} -> ok" in output
    assert "admin change by all via admin API: removed other -> ok" in output


def test_tokens_reload_on_sighup_and_on_change(secured: Secured) -> None:
    url = f"{secured.server.base_url}/v1/models/{MODEL}"
    table = {
        name: (token, [Scope(name)] if name != "all" else list(Scope))
        for name, token in (secured.tokens.items())
    }
    fresh = new_token()
    _write_tokens(secured.tokens_file, {**table, "late": (fresh, [Scope.READ])})
    secured.server.process.send_signal(signal.SIGHUP)
    _eventually(
        lambda: httpx.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200,
        "new token accepted",
        secured.server,
    )
    _write_tokens(secured.tokens_file, table)  # revoked again
    secured.server.process.send_signal(signal.SIGHUP)
    _eventually(
        lambda: httpx.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 401,
        "revoked token refused",
        secured.server,
    )
    secured.tokens_file.write_text("{not json")
    secured.server.process.send_signal(signal.SIGHUP)
    _eventually(
        lambda: "Keeping the previous tokens" in secured.server.output, "bad file", secured.server
    )
    assert httpx.get(url, headers=secured.headers("read")).status_code == 200  # still served
    _write_tokens(secured.tokens_file, table)


# -- without tokens -------------------------------------------------------------------------------


def test_admin_api_is_off_without_tokens_unless_enabled(shared_models: Path) -> None:
    base = shared_models / "saved_model_half_plus_three"
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={base}",
    ]
    with running_server(args, "/readyz") as server:
        off = httpx.get(server.base_url + "/v1/admin/models")
        assert off.status_code == 404
        assert "--enable_admin_api" in off.json()["error"]
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            code, _ = failure(
                admin_pb2_grpc.ModelAdminServiceStub(channel).ListModels,
                admin_pb2.ListModelsRequest(),
                timeout=30,
            )
            assert code == grpc.StatusCode.UNIMPLEMENTED
            # TF Serving's own reload stays open, as in TF Serving.
            reload = model_management_pb2.ReloadConfigRequest()
            reload.config.model_config_list.config.add(
                name=MODEL, base_path=str(base), model_platform="tensorflow"
            )
            stubs(channel).models.HandleReloadConfigRequest(reload, timeout=60)
        assert "admin API is on without --auth_tokens_file" not in server.output


# -- TLS on the REST port -------------------------------------------------------------------------


def test_rest_https_and_mutual_tls(shared_models: Path, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    for name, data in (
        ("ca.pem", pki.ca),
        ("client.pem", pki.client_cert),
        ("client.key", pki.client_key),
    ):
        (tmp_path / name).write_bytes(data)
    ssl_config = tmp_path / "ssl.config"
    ssl_config.write_text(
        f"server_key: {text_string(pki.server_key)}\n"
        f"server_cert: {text_string(pki.server_cert)}\n"
        f"custom_ca: {text_string(pki.ca)}\n"
        "client_verify: true\n"
    )
    args = [
        "serve",
        "--port={grpc_port}",
        "--rest-port={rest_port}",
        f"--ssl-config-file={ssl_config}",
        "--enable-admin-api",
        f"{MODEL}={shared_models / 'saved_model_half_plus_three'}",
    ]
    server = ServerProcess(args, program="pyserving")
    url = f"https://localhost:{server.rest_port}/v1/models/{MODEL}"
    trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    trusted.load_cert_chain(str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    try:

        def answers() -> bool:
            try:
                return httpx.get(url, verify=trusted, timeout=5).status_code == 200
            except httpx.TransportError:
                if server.process.poll() is not None:
                    raise AssertionError(server.output) from None
                return False

        _eventually(answers, "HTTPS answers", server)
        reply = httpx.post(url + ":predict", json={"instances": [1.0]}, verify=trusted)
        assert reply.json() == {"predictions": [3.5]}
        assert httpx.get(
            f"https://localhost:{server.rest_port}/v1/admin/models", verify=trusted
        ).is_success
        # No client certificate: the handshake fails (client_verify: true).
        anonymous = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with pytest.raises(httpx.TransportError):
            httpx.get(url, verify=anonymous, timeout=10)
        # Plain HTTP on the TLS port gets no answer.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{server.rest_port}/v1/models/{MODEL}", timeout=10)
        assert "admin API is on without --auth_tokens_file" in server.output
    finally:
        server.stop()


def test_the_zttp_grpc_stack_checks_tokens_too(shared_models: Path, tmp_path: Path) -> None:
    table = _token_table()
    tokens_file = tmp_path / "tokens.json"
    _write_tokens(tokens_file, table)
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_three'}",
        f"--auth_tokens_file={tokens_file}",
        "--grpc_server=zttp",
    ]
    with (
        running_server(args, "/readyz") as server,
        grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel,
    ):
        infer = v2_grpc.GRPCInferenceServiceStub(channel).ModelInfer
        predict = stubs(channel).predict.Predict
        request = predict_request(MODEL, x=float_tensor([1.0], [1]))
        for call, message in ((predict, request), (infer, _v2_request())):
            assert failure(call, message, timeout=30)[0] == grpc.StatusCode.UNAUTHENTICATED
            denied = [("authorization", f"Bearer {table['read'][0]}")]
            code, _ = failure(call, message, metadata=denied, timeout=30)
            assert code == grpc.StatusCode.PERMISSION_DENIED
        allowed = (("authorization", f"Bearer {table['infer'][0]}"),)
        deadline = time.monotonic() + WAIT_S
        while True:  # the model may still be loading
            try:
                response = predict(request, metadata=allowed, timeout=30)
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert list(response.outputs["y"].float_val) == [3.5]
        reply = infer(_v2_request(), metadata=allowed, timeout=30)
        assert list(reply.outputs[0].contents.fp32_contents) == [3.5]
