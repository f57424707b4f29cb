"""Server-sent events: a streaming response speaking the ``text/event-stream`` format."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import anyio
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from framework.background import BackgroundTask
from framework.responses import StreamingResponse, _as_async_iterable, _close_iterator
from framework.types import Send

__all__ = ["EventSourceResponse", "ServerSentEvent"]


_optional_text = attrs.validators.optional(attrs.validators.instance_of(str))


def _single_line(name: str) -> Callable[[Any, attrs.Attribute[Any], str | None], None]:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if value is not None and ("\n" in value or "\r" in value):
            raise ValueError(f"SSE {name} must not contain line breaks: {value!r}")

    return check


def _check_id(instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    # NOTE: browsers ignore an id containing NUL, which would silently break reconnection.
    if value is not None and "\0" in value:
        raise ValueError(f"SSE id must not contain NUL: {value!r}")


def _check_retry(instance: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"SSE retry must be an integer number of milliseconds, got {value!r}")
    if value < 0:
        raise ValueError(f"SSE retry must not be negative, got {value!r}")


def _lines(text: str) -> list[str]:
    """Split on every line break the event-stream format knows: CRLF, CR and LF."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


@attrs.frozen
class ServerSentEvent:
    """One event; ``data`` may span lines, ``comment`` is sent but ignored by clients."""

    data: str | None = attrs.field(default=None, validator=_optional_text)
    event: str | None = attrs.field(default=None, validator=[_optional_text, _single_line("event")])
    id: str | None = attrs.field(
        default=None, validator=[_optional_text, _single_line("id"), _check_id]
    )
    retry: int | None = attrs.field(default=None, validator=_check_retry)
    comment: str | None = attrs.field(default=None, validator=_optional_text)

    def encode(self) -> bytes:
        """The event in wire format, terminated by the blank line that dispatches it."""
        lines = []
        if self.comment is not None:
            lines.extend([": " + line for line in _lines(self.comment)])
        if self.event is not None:
            lines.append("event: " + self.event)
        if self.id is not None:
            lines.append("id: " + self.id)
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            lines.extend(["data: " + line for line in _lines(self.data)])
        lines.append("\n")
        return "\n".join(lines).encode("utf-8")


Event = ServerSentEvent | Mapping[str, Any] | str
EventStream = (
    AsyncIterable[Event] | Iterable[Event] | Callable[[], AsyncIterable[Event] | Iterable[Event]]
)

_PING = b": ping\n\n"


def _encode_event(item: Event) -> bytes:
    """Encode an event given as a ``ServerSentEvent``, a mapping of its fields, or data text."""
    if isinstance(item, ServerSentEvent):
        return item.encode()
    if isinstance(item, str):
        return ServerSentEvent(data=item).encode()
    if isinstance(item, Mapping):
        return ServerSentEvent(**item).encode()
    raise TypeError(f"expected a ServerSentEvent, a mapping or a string, got {item!r}")


async def _encode_all(events: AsyncIterable[Event]) -> AsyncIterator[bytes]:
    try:
        async for item in events:
            yield _encode_event(item)
    finally:
        await _close_iterator(events)


class EventSourceResponse(StreamingResponse):
    """Stream events to an ``EventSource`` client; with ``ping_interval``, ping while idle."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: EventStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        ping_interval: float | None = None,
    ) -> None:
        if ping_interval is not None and not ping_interval > 0:
            raise ValueError(
                f"ping_interval must be a positive number of seconds, got {ping_interval!r}"
            )
        # NOTE: body_iterator yields encoded bytes, so middleware wrapping it sees a plain stream.
        super().__init__(
            _encode_all(_as_async_iterable(content)), status_code, headers, media_type, background
        )
        self.ping_interval = ping_interval
        raw = self.raw_headers
        names = {name for name, _ in raw}
        # Proxies must neither cache the stream nor buffer it (nginx honours X-Accel-Buffering).
        if b"cache-control" not in names:
            raw.append((b"cache-control", b"no-cache"))
        if b"x-accel-buffering" not in names:
            raw.append((b"x-accel-buffering", b"no"))

    async def stream_response(self, send: Send) -> None:
        """Send the events as they come; with ``ping_interval``, a ping comment while idle."""
        interval = self.ping_interval
        if interval is None:
            await super().stream_response(send)
            return
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        # NOTE: the events are pulled by a separate task so that waiting for the next one can time
        # out without cancelling the user's iterator mid-step. Failures are carried out of the task
        # group by hand so callers see the original exception, not an ExceptionGroup.
        failures: list[Exception] = []
        sender, receiver = anyio.create_memory_object_stream[bytes]()
        async with anyio.create_task_group() as group:
            group.start_soon(self._produce, sender, failures)
            try:
                with receiver:
                    while True:
                        chunk = _PING
                        with anyio.move_on_after(interval):
                            try:
                                chunk = await receiver.receive()
                            except anyio.EndOfStream:
                                break
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except Exception as exc:
                failures.append(exc)
            group.cancel_scope.cancel()
        if failures:
            raise failures[0]
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _produce(
        self, sender: MemoryObjectSendStream[bytes], failures: list[Exception]
    ) -> None:
        with sender:
            try:
                async for chunk in self.body_iterator:
                    if not isinstance(chunk, bytes):
                        chunk = (
                            bytes(chunk)
                            if isinstance(chunk, memoryview)
                            else chunk.encode(self.charset)
                        )
                    await sender.send(chunk)
            except Exception as exc:
                failures.append(exc)
            finally:
                await _close_iterator(self.body_iterator)
