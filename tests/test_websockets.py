from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.responses import PlainTextResponse
from framework.types import Message, Receive, Scope, Send
from framework.websockets import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_MESSAGE_SIZE_SCOPE_KEY,
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketDisconnected,
    WebSocketState,
)

TestClientFactory = Callable[..., Any]

CONNECT: Message = {"type": "websocket.connect"}


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int = 1000, reason: str | None = None) -> Message:
    message: Message = {"type": "websocket.disconnect", "code": code}
    if reason is not None:
        message["reason"] = reason
    return message


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


SEND_AFTER_CLOSE = exactly('Cannot call "send" once a close message has been sent.')
NOT_CONNECTED = exactly('WebSocket is not connected. Need to call "accept" first.')
BAD_MODE = exactly('The "mode" argument should be "text" or "binary".')
NO_DENIAL = exactly("The server doesn't support the Websocket Denial Response extension.")
RECEIVE_AFTER_DISCONNECT = exactly(
    'Cannot call "receive" once a disconnect message has been received.'
)


def make_scope(**extra: Any) -> Scope:
    scope: Scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "root_path": "",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"room=1",
        "headers": [(b"host", b"testserver"), (b"cookie", b"session=abc")],
        "subprotocols": [],
    }
    scope.update(extra)
    return scope


class Peer:
    """The server side of a fake connection: scripted incoming messages, recorded outgoing ones."""

    def __init__(self, *incoming: Message) -> None:
        self.incoming: Iterator[Message] = iter(incoming)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        message = next(self.incoming, None)
        assert message is not None, "the app read more messages than the test scripted"
        return message

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def websocket(self, *, max_message_size: int | None = None, **scope: Any) -> WebSocket:
        return WebSocket(
            make_scope(**scope), self.receive, self.send, max_message_size=max_message_size
        )


# NOTE: read through functions so that mypy does not keep a narrowed state across awaits.
def client_state(websocket: WebSocket) -> WebSocketState:
    return websocket.client_state


def application_state(websocket: WebSocket) -> WebSocketState:
    return websocket.application_state


async def accepted(*incoming: Message, **options: Any) -> tuple[WebSocket, Peer]:
    peer = Peer(CONNECT, *incoming)
    websocket = peer.websocket(**options)
    await websocket.accept()
    peer.sent.clear()
    return websocket, peer


# -- the exceptions and the state enum


def test_states() -> None:
    assert [(state.name, state.value) for state in WebSocketState] == [
        ("CONNECTING", 0),
        ("CONNECTED", 1),
        ("DISCONNECTED", 2),
        ("RESPONSE", 3),
    ]


def test_disconnect_exception() -> None:
    default = WebSocketDisconnect()
    assert (default.code, default.reason) == (1000, "")
    assert repr(default) == "WebSocketDisconnect()"
    custom = WebSocketDisconnect(1001, "bye")
    assert (custom.code, custom.reason) == (1001, "bye")
    assert custom.args == (1001, "bye")
    assert WebSocketDisconnect(1002, None).reason == ""


def test_disconnected_is_a_runtime_error() -> None:
    assert issubclass(WebSocketDisconnected, RuntimeError)


def test_requires_a_websocket_scope() -> None:
    peer = Peer()
    with pytest.raises(AssertionError):
        WebSocket(make_scope(type="http"), peer.receive, peer.send)


def test_is_an_http_connection() -> None:
    websocket = Peer().websocket()
    assert websocket["path"] == "/chat"
    assert websocket.url.path == "/chat"
    assert websocket.query_params["room"] == "1"
    assert websocket.headers["host"] == "testserver"
    assert websocket.cookies == {"session": "abc"}


# -- the receive state machine


@pytest.mark.anyio
async def test_receive_connect_then_messages() -> None:
    peer = Peer(CONNECT, text("hi"), disconnect(1001))
    websocket = peer.websocket()
    assert client_state(websocket) is WebSocketState.CONNECTING
    assert await websocket.receive() == CONNECT
    assert client_state(websocket) is WebSocketState.CONNECTED
    assert await websocket.receive() == text("hi")
    assert await websocket.receive() == disconnect(1001)
    assert client_state(websocket) is WebSocketState.DISCONNECTED
    with pytest.raises(
        WebSocketDisconnected,
        match=RECEIVE_AFTER_DISCONNECT,
    ):
        await websocket.receive()


@pytest.mark.anyio
async def test_receive_expects_connect_first() -> None:
    websocket = Peer(text("hi")).websocket()
    with pytest.raises(RuntimeError) as info:
        await websocket.receive()
    assert str(info.value) == (
        "Expected ASGI message \"websocket.connect\", but got 'websocket.receive'"
    )
    assert client_state(websocket) is WebSocketState.CONNECTING


@pytest.mark.anyio
async def test_receive_rejects_a_second_connect() -> None:
    websocket = Peer(CONNECT, CONNECT).websocket()
    await websocket.receive()
    with pytest.raises(RuntimeError) as info:
        await websocket.receive()
    assert str(info.value) == (
        'Expected ASGI message "websocket.receive" or "websocket.disconnect", '
        "but got 'websocket.connect'"
    )


# -- the send state machine


@pytest.mark.anyio
async def test_send_before_accept_must_open_or_close() -> None:
    peer = Peer()
    websocket = peer.websocket()
    with pytest.raises(RuntimeError) as info:
        await websocket.send({"type": "websocket.send", "text": "x"})
    assert str(info.value) == (
        'Expected ASGI message "websocket.accept", "websocket.close" or '
        "\"websocket.http.response.start\", but got 'websocket.send'"
    )
    assert peer.sent == []
    assert application_state(websocket) is WebSocketState.CONNECTING


@pytest.mark.anyio
async def test_send_close_before_accept() -> None:
    peer = Peer()
    websocket = peer.websocket()
    await websocket.close()
    assert peer.sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]
    assert application_state(websocket) is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnected, match=SEND_AFTER_CLOSE):
        await websocket.close()


@pytest.mark.anyio
async def test_send_when_connected_must_be_data_or_close() -> None:
    websocket, peer = await accepted()
    assert application_state(websocket) is WebSocketState.CONNECTED
    with pytest.raises(RuntimeError) as info:
        await websocket.send({"type": "websocket.accept"})
    assert str(info.value) == (
        'Expected ASGI message "websocket.send" or "websocket.close", but got \'websocket.accept\''
    )
    assert peer.sent == []


@pytest.mark.anyio
async def test_send_response_state() -> None:
    peer = Peer()
    websocket = peer.websocket()
    await websocket.send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    assert application_state(websocket) is WebSocketState.RESPONSE
    with pytest.raises(RuntimeError) as info:
        await websocket.send({"type": "websocket.send", "text": "x"})
    assert str(info.value) == (
        "Expected ASGI message \"websocket.http.response.body\", but got 'websocket.send'"
    )
    await websocket.send({"type": "websocket.http.response.body", "body": b"a", "more_body": True})
    assert application_state(websocket) is WebSocketState.RESPONSE
    await websocket.send({"type": "websocket.http.response.body", "body": b"b"})
    assert application_state(websocket) is WebSocketState.DISCONNECTED
    assert len(peer.sent) == 3


@pytest.mark.anyio
async def test_send_on_a_dropped_connection_is_a_disconnect() -> None:
    async def broken_send(message: Message) -> None:
        raise OSError("connection reset")

    peer = Peer(CONNECT)
    websocket = WebSocket(make_scope(), peer.receive, peer.send)
    await websocket.accept()
    websocket._send = broken_send
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.send_text("x")
    assert info.value.code == 1006
    assert isinstance(info.value.__cause__, OSError)
    assert application_state(websocket) is WebSocketState.DISCONNECTED


@pytest.mark.anyio
async def test_os_error_while_accepting_propagates() -> None:
    async def broken_send(message: Message) -> None:
        raise OSError("connection reset")

    websocket = WebSocket(make_scope(), Peer(CONNECT).receive, broken_send)
    with pytest.raises(OSError, match="connection reset"):
        await websocket.accept()


# -- accept and close


@pytest.mark.anyio
async def test_accept_receives_the_connect_message() -> None:
    peer = Peer(CONNECT)
    websocket = peer.websocket()
    await websocket.accept()
    assert client_state(websocket) is WebSocketState.CONNECTED
    assert application_state(websocket) is WebSocketState.CONNECTED
    assert peer.sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]


@pytest.mark.anyio
async def test_accept_with_subprotocol_and_headers() -> None:
    peer = Peer(CONNECT)
    websocket = peer.websocket()
    assert await websocket.receive() == CONNECT
    headers = ((name, b"1") for name in (b"x-a", b"x-b"))
    await websocket.accept(subprotocol="chat", headers=headers)
    assert peer.sent == [
        {
            "type": "websocket.accept",
            "subprotocol": "chat",
            "headers": [(b"x-a", b"1"), (b"x-b", b"1")],
        }
    ]


@pytest.mark.anyio
async def test_close_with_code_and_reason() -> None:
    websocket, peer = await accepted()
    await websocket.close(code=4000, reason="done")
    assert peer.sent == [{"type": "websocket.close", "code": 4000, "reason": "done"}]
    assert application_state(websocket) is WebSocketState.DISCONNECTED


# -- receiving data


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_json"])
async def test_receive_helpers_need_accept(method: str) -> None:
    websocket = Peer(CONNECT).websocket()
    with pytest.raises(WebSocketDisconnected, match=NOT_CONNECTED):
        await getattr(websocket, method)()


@pytest.mark.anyio
async def test_receive_text_and_bytes() -> None:
    websocket, _ = await accepted(
        text("héllo"), binary(b"\x00\x01"), {"type": "websocket.receive", "text": ""}
    )
    assert await websocket.receive_text() == "héllo"
    assert await websocket.receive_bytes() == b"\x00\x01"
    assert await websocket.receive_text() == ""


@pytest.mark.anyio
async def test_receive_tolerates_the_other_key_set_to_none() -> None:
    websocket, _ = await accepted(
        {"type": "websocket.receive", "bytes": None, "text": "t"},
        {"type": "websocket.receive", "bytes": b"b", "text": None},
    )
    assert await websocket.receive_text() == "t"
    assert await websocket.receive_bytes() == b"b"


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["receive_text", "receive_bytes", "receive_json"])
async def test_receive_helpers_raise_on_disconnect(method: str) -> None:
    websocket, peer = await accepted(disconnect(1001, "going away"))
    with pytest.raises(WebSocketDisconnect) as info:
        await getattr(websocket, method)()
    assert (info.value.code, info.value.reason) == (1001, "going away")
    assert client_state(websocket) is WebSocketState.DISCONNECTED
    assert peer.sent == []


@pytest.mark.anyio
async def test_disconnect_without_a_code_is_normal_closure() -> None:
    websocket, _ = await accepted({"type": "websocket.disconnect"})
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive_text()
    assert (info.value.code, info.value.reason) == (1000, "")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "message", "reason"),
    [
        ("receive_text", binary(b"x"), "Expected text messages, but got bytes"),
        ("receive_bytes", text("x"), "Expected bytes messages, but got text"),
        ("receive_json", binary(b"1"), "Expected text messages, but got bytes"),
    ],
)
async def test_receive_of_the_wrong_kind_closes_with_1003(
    method: str, message: Message, reason: str
) -> None:
    websocket, peer = await accepted(message)
    with pytest.raises(WebSocketDisconnect) as info:
        await getattr(websocket, method)()
    assert (info.value.code, info.value.reason) == (1003, reason)
    assert peer.sent == [{"type": "websocket.close", "code": 1003, "reason": reason}]
    assert client_state(websocket) is WebSocketState.DISCONNECTED
    assert application_state(websocket) is WebSocketState.DISCONNECTED


@pytest.mark.anyio
async def test_receive_json_binary_mode_expects_bytes() -> None:
    websocket, peer = await accepted(text("1"))
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive_json(mode="binary")
    assert info.value.code == 1003
    assert peer.sent[0]["code"] == 1003


@pytest.mark.anyio
async def test_receive_json_modes() -> None:
    websocket, _ = await accepted(
        text('{"a": [1, 2.5, null]}'), binary('{"b": "é"}'.encode()), text("1e400")
    )
    assert await websocket.receive_json() == {"a": [1, 2.5, None]}
    assert await websocket.receive_json(mode="binary") == {"b": "é"}
    assert await websocket.receive_json(mode="text") == float("inf")


@pytest.mark.anyio
async def test_receive_json_bad_mode_receives_nothing() -> None:
    websocket, _ = await accepted()
    with pytest.raises(RuntimeError, match=BAD_MODE):
        await websocket.receive_json(mode="xml")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_receive_json_malformed() -> None:
    websocket, _ = await accepted(text("{nope"), binary(b"\xff"))
    with pytest.raises(json.JSONDecodeError):
        await websocket.receive_json()
    with pytest.raises(UnicodeDecodeError):
        await websocket.receive_json(mode="binary")


@pytest.mark.anyio
async def test_iter_text() -> None:
    websocket, _ = await accepted(text("a"), text("b"), disconnect())
    assert [item async for item in websocket.iter_text()] == ["a", "b"]


@pytest.mark.anyio
async def test_iter_bytes() -> None:
    websocket, _ = await accepted(binary(b"a"), binary(b"b"), disconnect(1001))
    assert [item async for item in websocket.iter_bytes()] == [b"a", b"b"]


@pytest.mark.anyio
async def test_iter_json() -> None:
    websocket, _ = await accepted(text("[1]"), text('{"x": null}'), disconnect())
    assert [item async for item in websocket.iter_json()] == [[1], {"x": None}]


@pytest.mark.anyio
async def test_iter_text_stops_after_a_wrong_kind() -> None:
    websocket, peer = await accepted(text("a"), binary(b"b"), text("never read"))
    assert [item async for item in websocket.iter_text()] == ["a"]
    assert peer.sent[-1]["code"] == 1003


# -- sending data


@pytest.mark.anyio
async def test_send_text_and_bytes() -> None:
    websocket, peer = await accepted()
    await websocket.send_text("hé")
    await websocket.send_bytes(b"\x00")
    assert peer.sent == [
        {"type": "websocket.send", "text": "hé"},
        {"type": "websocket.send", "bytes": b"\x00"},
    ]


@pytest.mark.anyio
async def test_send_json_modes() -> None:
    websocket, peer = await accepted()
    await websocket.send_json({"a": "é", "b": [1, None]})
    await websocket.send_json({"a": "é"}, mode="binary")
    await websocket.send_json(float("nan"))
    assert peer.sent == [
        {"type": "websocket.send", "text": '{"a":"é","b":[1,null]}'},
        {"type": "websocket.send", "bytes": '{"a":"é"}'.encode()},
        {"type": "websocket.send", "text": "NaN"},
    ]


@pytest.mark.anyio
async def test_send_json_bad_mode_sends_nothing() -> None:
    websocket, peer = await accepted()
    with pytest.raises(RuntimeError, match=BAD_MODE):
        await websocket.send_json({}, mode="xml")  # type: ignore[arg-type]
    assert peer.sent == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)


@given(json_values)
def test_json_round_trip(data: Any) -> None:
    import anyio

    async def main() -> Any:
        websocket, peer = await accepted()
        await websocket.send_json(data)
        websocket2, _ = await accepted(text(peer.sent[0]["text"]))
        return await websocket2.receive_json()

    assert anyio.run(main) == data


# -- the denial response


@pytest.mark.anyio
@pytest.mark.parametrize("extensions", [None, {}, {"websocket.http.response.other": {}}])
async def test_denial_response_needs_the_extension(extensions: dict[str, Any] | None) -> None:
    peer = Peer(CONNECT)
    options: dict[str, Any] = {} if extensions is None else {"extensions": extensions}
    websocket = peer.websocket(**options)
    with pytest.raises(RuntimeError, match=NO_DENIAL):
        await websocket.send_denial_response(PlainTextResponse("no", status_code=403))
    assert peer.sent == []


@pytest.mark.anyio
async def test_denial_response() -> None:
    peer = Peer(CONNECT)
    websocket = peer.websocket(extensions={"websocket.http.response": {}})
    await websocket.send_denial_response(PlainTextResponse("no", status_code=403))
    assert [message["type"] for message in peer.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert peer.sent[0]["status"] == 403
    assert b"".join(message.get("body", b"") for message in peer.sent) == b"no"
    assert application_state(websocket) is WebSocketState.DISCONNECTED


# -- WebSocketClose


@pytest.mark.anyio
async def test_websocket_close_app() -> None:
    peer = Peer(CONNECT)
    await WebSocketClose()(make_scope(), peer.receive, peer.send)
    await WebSocketClose(4001, "nope")(make_scope(), peer.receive, peer.send)
    assert peer.sent == [
        {"type": "websocket.close", "code": 1000, "reason": ""},
        {"type": "websocket.close", "code": 4001, "reason": "nope"},
    ]


# -- the message size limit


def test_size_limit_defaults() -> None:
    assert DEFAULT_MAX_MESSAGE_SIZE == 16 * 1024 * 1024
    assert Peer().websocket().max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    assert Peer().websocket(**{MAX_MESSAGE_SIZE_SCOPE_KEY: 10}).max_message_size == 10
    explicit = Peer().websocket(max_message_size=5, **{MAX_MESSAGE_SIZE_SCOPE_KEY: 10})
    assert explicit.max_message_size == 5


@pytest.mark.anyio
@pytest.mark.parametrize("message", [text("x" * 11), binary(b"x" * 11), text("é" * 6)])
async def test_oversized_message_closes_with_1009(message: Message) -> None:
    websocket, peer = await accepted(message, max_message_size=10)
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive()
    assert (info.value.code, info.value.reason) == (1009, "Message too big")
    assert peer.sent == [{"type": "websocket.close", "code": 1009, "reason": "Message too big"}]
    assert client_state(websocket) is WebSocketState.DISCONNECTED
    assert application_state(websocket) is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketDisconnected):
        await websocket.receive()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "message",
    [text("x" * 10), binary(b"x" * 10), text("é" * 5), text(""), {"type": "websocket.receive"}],
)
async def test_message_at_the_limit_passes(message: Message) -> None:
    websocket, peer = await accepted(message, max_message_size=10)
    assert await websocket.receive() == message
    assert peer.sent == []


@pytest.mark.anyio
async def test_size_limit_from_the_scope() -> None:
    websocket, _ = await accepted(text("xyz"), **{MAX_MESSAGE_SIZE_SCOPE_KEY: 2})
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive_text()
    assert info.value.code == 1009


@pytest.mark.anyio
async def test_oversized_message_after_the_app_closed_sends_nothing() -> None:
    websocket, peer = await accepted(binary(b"xyz"), max_message_size=2)
    await websocket.close()
    with pytest.raises(WebSocketDisconnect) as info:
        await websocket.receive()
    assert info.value.code == 1009
    assert peer.sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


@pytest.mark.anyio
async def test_iterators_end_on_an_oversized_message() -> None:
    websocket, peer = await accepted(text("ok"), text("too long"), max_message_size=4)
    assert [item async for item in websocket.iter_text()] == ["ok"]
    assert peer.sent[-1]["code"] == 1009


@given(st.text(), st.integers(min_value=0, max_value=64))
def test_size_limit_counts_utf8_bytes(data: str, limit: int) -> None:
    import anyio

    async def main() -> bool:
        websocket, _ = await accepted(text(data), max_message_size=limit)
        try:
            await websocket.receive()
        except WebSocketDisconnect:
            return False
        return True

    assert anyio.run(main) == (len(data.encode("utf-8", "surrogatepass")) <= limit)


# -- through the test client


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send, max_message_size=8)
    await websocket.accept(subprotocol="echo")
    async for message in websocket.iter_text():
        await websocket.send_text(message.upper())
    if websocket.application_state is WebSocketState.CONNECTED:
        await websocket.close()


def test_client_echo(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo_app)
    with client.websocket_connect("/", subprotocols=["echo"]) as session:
        assert session.accepted_subprotocol == "echo"
        session.send_text("abc")
        assert session.receive_text() == "ABC"


def test_client_sees_1009_for_an_oversized_message(test_client_factory: TestClientFactory) -> None:
    client = test_client_factory(echo_app)
    with client.websocket_connect("/") as session:
        session.send_text("x" * 9)
        message = session.receive()
    assert message == {"type": "websocket.close", "code": 1009, "reason": "Message too big"}


def test_client_json(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        data = await websocket.receive_json()
        await websocket.send_json({"got": data})
        data = await websocket.receive_json(mode="binary")
        await websocket.send_json({"got": data}, mode="binary")
        await websocket.close()

    with test_client_factory(app).websocket_connect("/") as session:
        session.send_json([1, "é"])
        assert session.receive_json() == {"got": [1, "é"]}
        session.send_json({"b": True}, mode="binary")
        assert session.receive_json(mode="binary") == {"got": {"b": True}}


def test_client_close_reaches_the_app(test_client_factory: TestClientFactory) -> None:
    seen: list[tuple[int, str]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        try:
            await websocket.receive_bytes()
        except WebSocketDisconnect as exc:
            seen.append((exc.code, exc.reason))

    with test_client_factory(app).websocket_connect("/") as session:
        session.close(4002, "later")
    assert seen == [(4002, "later")]


def test_client_rejected_before_accept(test_client_factory: TestClientFactory) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await WebSocketClose(4003, "go away")(scope, receive, send)

    client = test_client_factory(app)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/"):
        pass
    assert (info.value.code, info.value.reason) == (4003, "go away")


def test_client_denial_response(test_client_factory: TestClientFactory) -> None:
    from testing.client import WebSocketDenialResponse

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.send_denial_response(
            PlainTextResponse("nope", status_code=401, headers={"www-authenticate": "Bearer"})
        )

    client = test_client_factory(app)
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/"):
        pass
    assert info.value.status_code == 401
    assert info.value.text == "nope"
    assert info.value.headers["www-authenticate"] == "Bearer"
