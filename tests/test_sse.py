from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.background import BackgroundTask
from framework.requests import ClientDisconnect
from framework.responses import StreamingResponse
from framework.sse import EventSourceResponse, ServerSentEvent
from framework.types import Message, Scope


def parse_stream(stream: str) -> tuple[list[dict[str, str]], list[str]]:
    """Dispatch events from ``stream`` as the HTML standard's EventSource parser does.

    Returns the dispatched events (type, data, last event id) and the comments seen.
    """
    events: list[dict[str, str]] = []
    comments: list[str] = []
    data = event_type = last_id = ""
    lines = re.split(r"\r\n|\r|\n", stream)
    # Whatever follows the last line break is an incomplete line, and is discarded.
    for line in lines[:-1]:
        if line == "":
            if data:
                events.append({"type": event_type or "message", "data": data[:-1], "id": last_id})
            data = event_type = ""
            continue
        if line.startswith(":"):
            comments.append(line[1:].removeprefix(" "))
            continue
        field, colon, value = line.partition(":")
        value = value.removeprefix(" ") if colon else ""
        if field == "data":
            data += value + "\n"
        elif field == "event":
            event_type = value
        elif field == "id" and "\0" not in value:
            last_id = value
    return events, comments


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------------------------ encoding


def test_encode_all_fields() -> None:
    event = ServerSentEvent(data="hello", event="greet", id="7", retry=1500, comment="note")
    assert event.encode() == b": note\nevent: greet\nid: 7\nretry: 1500\ndata: hello\n\n"


def test_multiline_data_and_line_break_normalisation() -> None:
    assert ServerSentEvent(data="a\nb\r\nc\rd").encode() == (
        b"data: a\ndata: b\ndata: c\ndata: d\n\n"
    )
    assert ServerSentEvent(data="").encode() == b"data: \n\n"
    assert ServerSentEvent(data="x\n").encode() == b"data: x\ndata: \n\n"
    assert ServerSentEvent(comment="a\r\nb").encode() == b": a\n: b\n\n"


def test_separators_other_than_cr_and_lf_stay_inside_a_line() -> None:
    assert (
        ServerSentEvent(data="a\u2028b\x85c\x0bd").encode()
        == "data: a\u2028b\x85c\x0bd\n\n".encode()
    )


def test_data_is_utf8() -> None:
    assert ServerSentEvent(data="é☃").encode() == "data: é☃\n\n".encode()


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb", "\n"])
def test_event_and_id_refuse_line_breaks(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=f"SSE {field} must not contain line breaks"):
        ServerSentEvent(**kwargs)


def test_id_refuses_nul() -> None:
    with pytest.raises(ValueError, match="SSE id must not contain NUL"):
        ServerSentEvent(id="a\0b")
    assert ServerSentEvent(event="a\0b").event == "a\0b"


def test_retry_validation() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        ServerSentEvent(retry=-1)
    with pytest.raises(TypeError, match="integer number of milliseconds"):
        ServerSentEvent(retry=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integer number of milliseconds"):
        ServerSentEvent(retry=True)
    assert ServerSentEvent(retry=0).encode() == b"retry: 0\n\n"


@pytest.mark.parametrize("field", ["data", "event", "id", "comment"])
def test_text_fields_must_be_strings(field: str) -> None:
    kwargs: dict[str, Any] = {field: 42}
    with pytest.raises(TypeError, match=f"'{field}' must be <class 'str'>"):
        ServerSentEvent(**kwargs)


def test_events_are_frozen_values() -> None:
    event = ServerSentEvent(data="x", id="1")
    assert event == ServerSentEvent(data="x", id="1")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]


@given(st.text())
def test_any_data_round_trips(data: str) -> None:
    events, _ = parse_stream(ServerSentEvent(data=data).encode().decode("utf-8"))
    assert events == [{"type": "message", "data": normalise(data), "id": ""}]


single_line = st.text().filter(lambda s: "\r" not in s and "\n" not in s)


@given(
    data=st.text(),
    event=single_line.filter(lambda s: s != ""),
    event_id=single_line.filter(lambda s: "\0" not in s),
    comment=st.text(),
)
def test_every_field_round_trips(data: str, event: str, event_id: str, comment: str) -> None:
    encoded = ServerSentEvent(data=data, event=event, id=event_id, comment=comment).encode()
    events, comments = parse_stream(encoded.decode("utf-8"))
    assert events == [{"type": event, "data": normalise(data), "id": event_id}]
    assert comments == normalise(comment).split("\n")


@given(st.lists(st.text(), max_size=5))
def test_a_stream_of_events_round_trips(items: list[str]) -> None:
    stream = b"".join(ServerSentEvent(data=item).encode() for item in items)
    events, _ = parse_stream(stream.decode("utf-8"))
    assert [event["data"] for event in events] == [normalise(item) for item in items]


# ------------------------------------------------------------------------------------ response


async def never_disconnect() -> Message:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


def make_scope(**extra: Any) -> Scope:
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    scope.update(extra)
    return scope


async def run(response: StreamingResponse, **extra: Any) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    with anyio.fail_after(10):
        await response(make_scope(**extra), never_disconnect, send)
    return messages


def body(messages: list[Message]) -> bytes:
    assert messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    return b"".join(bytes(m["body"]) for m in messages[1:])


def test_headers() -> None:
    response = EventSourceResponse(iter([]))
    assert response.raw_headers == [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ]
    custom = EventSourceResponse(iter([]), headers={"Cache-Control": "no-store", "x-a": "b"})
    assert custom.raw_headers == [
        (b"cache-control", b"no-store"),
        (b"x-a", b"b"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"x-accel-buffering", b"no"),
    ]
    buffered = EventSourceResponse(iter([]), headers={"X-Accel-Buffering": "yes"})
    assert buffered.raw_headers == [
        (b"x-accel-buffering", b"yes"),
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
    ]


@pytest.mark.anyio
async def test_events_strings_and_dicts() -> None:
    async def events() -> AsyncIterator[ServerSentEvent | dict[str, Any] | str]:
        yield "plain"
        yield {"data": "from a dict", "event": "update", "id": "2"}
        yield ServerSentEvent(comment="keep")

    messages = await run(EventSourceResponse(events()))
    assert messages[0]["status"] == 200
    assert body(messages) == (
        b"data: plain\n\nevent: update\nid: 2\ndata: from a dict\n\n: keep\n\n"
    )


@pytest.mark.anyio
async def test_sync_iterables_and_callables() -> None:
    def events() -> Iterator[str]:
        yield "a"
        yield "b"

    assert body(await run(EventSourceResponse(events()))) == b"data: a\n\ndata: b\n\n"
    assert body(await run(EventSourceResponse(events))) == b"data: a\n\ndata: b\n\n"


@pytest.mark.anyio
async def test_bad_items_and_fields_are_errors() -> None:
    with pytest.raises(TypeError, match="expected a ServerSentEvent, a mapping or a string"):
        await run(EventSourceResponse(iter([b"raw bytes"])))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        await run(EventSourceResponse(iter([{"colour": "red"}])))
    with pytest.raises(ValueError, match="line breaks"):
        await run(EventSourceResponse(iter([{"event": "a\nb"}])))


def test_ping_interval_must_be_positive() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="ping_interval must be a positive number"):
            EventSourceResponse(iter([]), ping_interval=bad)


@pytest.mark.anyio
async def test_body_iterator_yields_encoded_bytes() -> None:
    response = EventSourceResponse(iter(["x"]))
    chunks = [chunk async for chunk in response.body_iterator]
    assert chunks == [b"data: x\n\n"]


@pytest.mark.anyio
async def test_background_runs_after_the_stream() -> None:
    ran: list[str] = []
    response = EventSourceResponse(iter(["x"]), background=BackgroundTask(ran.append, "bg"))
    await run(response)
    assert ran == ["bg"]


# -------------------------------------------------------------------------------------- pings


@pytest.mark.anyio
async def test_pings_while_idle() -> None:
    pinged = anyio.Event()
    messages: list[Message] = []

    async def events() -> AsyncIterator[str]:
        yield "first"
        # Only a ping can wake this up, so the test cannot pass without one.
        await pinged.wait()
        yield "second"

    async def send(message: Message) -> None:
        messages.append(message)
        if message.get("body") == b": ping\n\n":
            pinged.set()

    response = EventSourceResponse(events(), ping_interval=0.01)
    with anyio.fail_after(10):
        await response(make_scope(), never_disconnect, send)
    stream = body(messages)
    assert stream.startswith(b"data: first\n\n: ping\n\n")
    assert stream.endswith(b"data: second\n\n")
    events_seen, comments = parse_stream(stream.decode())
    assert [event["data"] for event in events_seen] == ["first", "second"]
    assert set(comments) == {"ping"}


@pytest.mark.anyio
async def test_no_ping_when_events_keep_coming() -> None:
    response = EventSourceResponse(iter(["a", "b", "c"]), ping_interval=60)
    assert body(await run(response)) == b"data: a\n\ndata: b\n\ndata: c\n\n"


@pytest.mark.anyio
async def test_pings_with_a_replaced_body_iterator() -> None:
    async def chunks() -> AsyncIterator[str | bytes | memoryview]:
        yield "data: é\n\n"
        yield memoryview(b"data: b\n\n")

    response = EventSourceResponse(iter([]), ping_interval=60)
    response.body_iterator = chunks()
    assert body(await run(response)) == "data: é\n\ndata: b\n\n".encode()


@pytest.mark.anyio
async def test_errors_in_the_event_source_propagate_unwrapped_with_pings() -> None:
    async def events() -> AsyncIterator[str]:
        yield "a"
        raise KeyError("broken source")

    with pytest.raises(KeyError, match="broken source"):
        await run(EventSourceResponse(events(), ping_interval=5))


@pytest.mark.anyio
async def test_send_errors_propagate_unwrapped_with_pings() -> None:
    closed: list[bool] = []

    async def events() -> AsyncIterator[str]:
        try:
            while True:
                yield "a"
        finally:
            closed.append(True)

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise RuntimeError("send failed")

    response = EventSourceResponse(events(), ping_interval=5)
    with anyio.fail_after(10), pytest.raises(RuntimeError, match="send failed"):
        await response(make_scope(), never_disconnect, send)
    assert closed == [True]


# --------------------------------------------------------------------------------- disconnects


@pytest.mark.anyio
@pytest.mark.parametrize("ping_interval", [None, 0.01])
async def test_stops_when_the_client_disconnects(ping_interval: float | None) -> None:
    closed: list[bool] = []
    first_event_sent = anyio.Event()
    sent: list[Message] = []

    async def events() -> AsyncIterator[str]:
        try:
            yield "hello"
            await anyio.sleep_forever()
            yield "never"
        finally:
            closed.append(True)

    async def receive() -> Message:
        await first_event_sent.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body") == b"data: hello\n\n":
            first_event_sent.set()

    response = EventSourceResponse(events(), ping_interval=ping_interval)
    with anyio.fail_after(10):
        await response(make_scope(), receive, send)
    assert b"never" not in b"".join(bytes(m.get("body", b"")) for m in sent)
    assert closed == [True]


@pytest.mark.anyio
@pytest.mark.parametrize("ping_interval", [None, 0.01])
async def test_asgi_2_4_disconnect_is_client_disconnect(ping_interval: float | None) -> None:
    closed: list[bool] = []

    async def events() -> AsyncIterator[str]:
        try:
            while True:
                yield "tick"
                await anyio.sleep(0)
        finally:
            closed.append(True)

    count = 0

    async def send(message: Message) -> None:
        nonlocal count
        count += 1
        if count > 3:
            raise OSError("connection reset")

    response = EventSourceResponse(events(), ping_interval=ping_interval)
    scope = make_scope(asgi={"spec_version": "2.4"})
    with anyio.fail_after(10), pytest.raises(ClientDisconnect):
        await response(scope, never_disconnect, send)
    assert closed == [True]


# ------------------------------------------------------------------------------- end to end


def test_under_uvicorn_a_closed_connection_ends_the_stream() -> None:
    import threading

    import httpx
    import uvicorn

    finished = threading.Event()

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            n = 0
            while True:
                yield ServerSentEvent(data=f"tick {n}", id=str(n))
                n += 1
                await anyio.sleep(0.01)
        finally:
            finished.set()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await EventSourceResponse(events(), ping_interval=0.05)(scope, receive, send)

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.stream("GET", f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            received = ""
            for text in response.iter_text():
                received += text
                if received.count("\n\n") >= 3:
                    break
        events_seen, _ = parse_stream(received)
        assert [event["data"] for event in events_seen[:3]] == ["tick 0", "tick 1", "tick 2"]
        assert finished.wait(10), "the event source was not closed after the client left"
    finally:
        server.should_exit = True
        thread.join(10)
