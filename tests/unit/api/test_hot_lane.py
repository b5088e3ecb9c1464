"""The front door's hot lane in process: which requests the front door finds a hot handler for,
that a hot handler answers as the ASGI path does, and how the lane runs its gates."""

from __future__ import annotations

import asyncio
import json

import pytest

from pyserving.api.rest.app import RestApp
from pyserving.api.rest.asgi import Receive, Scope, Send, send_response
from pyserving.api.rest.hot import HotAnswer, HotHandler, HotLane, HotRequest, with_gates
from pyserving.api.rest.limits import InFlightLimit
from pyserving.api.rest.router import BaseRoute, Middleware, asgi_route, json_route
from pyserving.net.eager import ALONE_STREAK
from pyserving.service.core import ServingService
from tests.unit.api.test_front_door import Client, _echo, _Tag


async def _raw(scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, 200, b"asgi", [])


async def _raw_hot(request: HotRequest) -> HotAnswer:
    return 200, [], json.dumps(dict(request.params)).encode()


def _routes() -> list[BaseRoute]:
    return [
        asgi_route("/hot/{a}", _raw, ["POST"], hot=_raw_hot),
        asgi_route("/tagged/{a}", _raw, ["POST"], hot=_raw_hot, middleware=[Middleware(_Tag, b"")]),
        asgi_route("/cold/{a}", _raw, ["POST"]),
        json_route("/json/{a}", {"POST": _echo}),
    ]


def _request(path: str, body: bytes, query: bytes = b"") -> HotRequest:
    return HotRequest("POST", path, query, [(b"content-type", b"application/json")], body, {})


def test_hot_handlers_are_found_for_inference_posts_only(service: ServingService) -> None:
    app = RestApp(service, routes=_routes())
    for path in ("/v1/models/m:predict", "/V1/Models/m/versions/1:regress", "/v1/models/m"):
        assert app.hot("POST", path) is not None, path
    assert app.hot("GET", "/v1/models/m") is None  # status and metadata are not hot
    found = app.hot("POST", "/hot/x")
    assert found is not None and found[0] is _raw_hot and found[1] == {"a": "x"}
    assert app.hot("GET", "/hot/x") is None  # a method the route does not serve: its 405
    assert app.hot("POST", "/tagged/x") is None  # the route's middleware must see it
    assert app.hot("POST", "/cold/x") is None  # no hot form
    assert app.hot("POST", "/json/x") is None
    assert app.hot("POST", "/nowhere") is None
    tagged = RestApp(service, routes=_routes(), router_middleware=[Middleware(_Tag, b"")])
    assert tagged.hot("POST", "/hot/x") is None  # the router's middleware must see it
    assert tagged.hot("POST", "/v1/models/m:predict") is not None  # as on the ASGI path


def test_the_v1_hot_handler_answers_as_the_asgi_path(service: ServingService) -> None:
    app = RestApp(service, routes=_routes())
    client = Client(app)
    cases = [
        ("/v1/models/m:predict", b'{"instances": [[2.0]]}', b""),
        ("/v1/models/m:predict", b'{"instances": [[2.0]', b""),  # malformed JSON
        ("/v1/models/nope:predict", b'{"instances": [[2.0]]}', b""),
        ("/v1/models/m:predict", b'{"instances": [[2.0]]}', b"x=1"),  # the query is in the name
        ("/v1/models/m:explode", b"{}", b""),  # not a TF Serving URL: empty body
    ]
    for path, body, query in cases:
        found = app.hot("POST", path)
        assert found is not None
        handler, _ = found
        status, headers, payload = asyncio.run(_answer(handler, _request(path, body, query)))
        url = f"{path}?{query.decode()}" if query else path
        reply = client("POST", url, content=body)
        assert (status, payload) == (reply.status, reply.body), path
        assert dict(headers)[b"content-type"] == reply.headers["content-type"].encode()


async def _answer(handler: HotHandler, request: HotRequest) -> HotAnswer:
    return await handler(request)


class _Gate:
    def __init__(self, log: list[str], name: str, refuse: bool = False) -> None:
        self.log, self.name, self.refuse = log, name, refuse

    def admit(self, request: HotRequest) -> HotAnswer | None:
        self.log.append(f"admit {self.name}")
        if self.refuse:
            return 429, [], b""
        request.caller = self.name
        return None

    def leave(self) -> None:
        self.log.append(f"leave {self.name}")


def test_the_lane_admits_through_every_gate_in_order() -> None:
    log: list[str] = []
    lane = HotLane(lambda method, path: None, [_Gate(log, "a"), _Gate(log, "b")], max_body_bytes=1)
    request = _request("/x", b"")
    assert lane.admit(request)
    assert log == ["admit a", "admit b"]
    assert request.caller == "b"
    lane.leave()
    assert log[2:] == ["leave a", "leave b"]


def test_a_refusal_releases_the_gates_passed_before_it() -> None:
    log: list[str] = []
    gates = [_Gate(log, "a"), _Gate(log, "b", refuse=True), _Gate(log, "c")]
    lane = HotLane(lambda method, path: None, gates, max_body_bytes=1)
    assert not lane.admit(_request("/x", b""))
    assert log == ["admit a", "admit b", "leave a"]


def test_the_lane_remembers_a_bounded_number_of_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def find(method: str, path: str) -> None:
        asked.append(path)

    lane = HotLane(find, max_body_bytes=1)
    monkeypatch.setattr(HotLane, "REMEMBERED", 2)
    for path in ("/a", "/a", "/b", "/a", "/c", "/a"):
        assert lane.find("POST", path) is None
    assert asked == ["/a", "/b", "/c", "/a"]  # full at /c: forgotten, then learnt again


def test_requests_start_eagerly_only_while_they_arrive_one_at_a_time() -> None:
    lane = HotLane(lambda method, path: None, max_body_bytes=1)
    eager = []
    for _ in range(ALONE_STREAK + 2):  # one at a time: eager from the streak's end on
        eager.append(lane.starting())
        lane.finished()
    assert eager == [False] * (ALONE_STREAK - 1) + [True] * 3
    assert lane.starting()  # alone
    assert not lane.starting()  # overlapping: a Task, and the streak starts over
    lane.finished()
    lane.finished()
    streak = []
    for _ in range(ALONE_STREAK):
        streak.append(lane.starting())
        lane.finished()
    assert streak == [False] * (ALONE_STREAK - 1) + [True]
    assert lane.serving == 0


def test_the_front_door_middleware_are_the_lanes_gates_in_order() -> None:
    app = _Tag(_raw, b"inner")  # stands for the app: any ASGI app
    door, gates = with_gates(app, [Middleware(InFlightLimit, 3), Middleware(InFlightLimit, 5)])
    assert isinstance(door, InFlightLimit) and gates[0] is door  # the first is outermost
    assert [gate._limit for gate in gates] == [3, 5]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="_Tag wraps the whole front door but is not"):
        with_gates(app, [Middleware(InFlightLimit, 3), Middleware(_Tag, b"x")])
