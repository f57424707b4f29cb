"""Streaming parsers for urlencoded and ``multipart/form-data`` request bodies."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable
from tempfile import SpooledTemporaryFile
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

from framework.datastructures import FormData, Headers, UploadFile

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks, QuerystringCallbacks

__all__ = ["FormParser", "MultiPartException", "MultiPartParser"]

_DEFAULT_CHARSET = "utf-8"
_CHARSET_FIELD = b"_charset_"
_MISSING_NAME = 'The Content-Disposition header field "name" must be provided.'


class MultiPartException(Exception):
    """A form body that is malformed or breaks a limit; ``message`` is safe to show clients."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _usable_charset(name: bytes | str | None) -> str | None:
    """``name`` if Python can decode bytes with it, else None."""
    if not name:
        return None
    label = name.decode("latin-1") if isinstance(name, bytes) else name
    try:
        codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    try:
        # NOTE: bytes.decode refuses codecs that are not text encodings (base64, rot13, ...),
        # which codecs.lookup accepts; a client must not pick those.
        b"\x00".decode(label)
    except LookupError:
        return None
    except ValueError:
        pass  # a text encoding that merely rejects the probe byte (utf-16, ...)
    return label


def _content_charset(headers: Headers) -> str:
    _, params = parse_options_header(headers.get("content-type"))
    return _usable_charset(params.get(b"charset")) or _DEFAULT_CHARSET


def _decode_lenient(data: bytes, charset: str) -> str:
    """Decode with ``charset``, falling back to latin-1, which accepts every byte."""
    try:
        return data.decode(charset)
    except ValueError:
        return data.decode("latin-1")


def _decode_urlencoded(data: bytes, charset: str) -> str:
    raw = unquote_to_bytes(data.replace(b"+", b" "))
    try:
        return raw.decode(charset, "replace")
    except ValueError:
        # A codec may refuse even with errors="replace" (e.g. "undefined").
        return raw.decode("latin-1")


def _charset_override(fields: list[tuple[bytes, bytes]], charset: str) -> str:
    """The charset the last usable ``_charset_`` field names (the HTML form convention)."""
    for name, value in fields:
        if name == _CHARSET_FIELD:
            charset = _usable_charset(value) or charset
    return charset


def _too_many_fields(max_fields: int | float) -> MultiPartException:
    return MultiPartException(f"Too many fields. Maximum number of fields is {max_fields}.")


class FormParser:
    """Parse an ``application/x-www-form-urlencoded`` body as it streams in."""

    __slots__ = (
        "_charset",
        "_fields",
        "_name",
        "_size",
        "_value",
        "headers",
        "max_fields",
        "max_part_size",
        "stream",
    )

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterable[bytes],
        *,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self._fields: list[tuple[bytes, bytes]] = []
        self._name = bytearray()
        self._value = bytearray()
        self._size = 0

    def _on_field_start(self) -> None:
        if len(self._fields) + 1 > self.max_fields:
            raise _too_many_fields(self.max_fields)
        self._size = 0

    def _grow(self, buffer: bytearray, data: bytes, start: int, end: int) -> None:
        # PERF: the limit is checked per chunk, so an oversized field is refused before
        # it is held in memory.
        self._size += end - start
        if self._size > self.max_part_size:
            raise MultiPartException(
                f"Field exceeded maximum size of {self.max_part_size // 1024}KB."
            )
        buffer += data[start:end]

    def _on_field_name(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._name, data, start, end)

    def _on_field_data(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._value, data, start, end)

    def _on_field_end(self) -> None:
        self._fields.append((bytes(self._name), bytes(self._value)))
        self._name.clear()
        self._value.clear()

    async def parse(self) -> FormData:
        """Read the whole stream and return its fields, in order."""
        callbacks: QuerystringCallbacks = {
            "on_field_start": self._on_field_start,
            "on_field_name": self._on_field_name,
            "on_field_data": self._on_field_data,
            "on_field_end": self._on_field_end,
        }
        parser = QuerystringParser(callbacks)
        async for chunk in self.stream:
            if chunk:
                parser.write(chunk)
        parser.finalize()
        # NOTE: decoding waits for the end so that a ``_charset_`` field anywhere in the
        # body applies to every field, as browsers intend.
        charset = _charset_override(self._fields, _content_charset(self.headers))
        return FormData(
            [
                (_decode_urlencoded(name, charset), _decode_urlencoded(value, charset))
                for name, value in self._fields
            ]
        )


class MultiPartParser:
    """Parse a ``multipart/form-data`` body as it streams in; file parts are spooled to disk."""

    spool_max_size = 1024 * 1024
    max_part_size = 1024 * 1024

    def __init__(
        self,
        headers: Headers,
        stream: AsyncIterable[bytes],
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> None:
        self.headers = headers
        self.stream = stream
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_part_size = max_part_size
        self._charset = _DEFAULT_CHARSET
        # Field values stay bytes until the end; files are complete objects.
        self._items: list[tuple[bytes, bytes | UploadFile]] = []
        self._field_count = 0
        self._opened: list[UploadFile] = []
        self._pending_writes: list[tuple[UploadFile, bytes]] = []
        self._part_headers: list[tuple[bytes, bytes]] = []
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._part_name = b""
        self._part_data = bytearray()
        self._part_file: UploadFile | None = None

    def _on_part_begin(self) -> None:
        self._part_headers = []
        self._part_data.clear()
        self._part_file = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._part_headers.append((bytes(self._header_field).lower(), bytes(self._header_value)))
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition: bytes | None = None
        for field, value in self._part_headers:
            if field == b"content-disposition":
                disposition = value
        if disposition is None:
            raise MultiPartException(_MISSING_NAME)
        _, options = parse_options_header(disposition.decode("latin-1"))
        name = options.get(b"name")
        if name is None:
            raise MultiPartException(_MISSING_NAME)
        self._part_name = name
        filename = options.get(b"filename")
        if filename is None:
            self._field_count += 1
            if self._field_count > self.max_fields:
                raise _too_many_fields(self.max_fields)
            return
        if len(self._opened) + 1 > self.max_files:
            raise MultiPartException(
                f"Too many files. Maximum number of files is {self.max_files}."
            )
        # NOTE: the spool lives as long as the UploadFile, which FormData.close() closes.
        spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
            max_size=self.spool_max_size
        )
        upload = UploadFile(
            cast(BinaryIO, spool),
            size=0,
            filename=_decode_lenient(filename, self._charset),
            headers=Headers(raw=self._part_headers),
        )
        self._opened.append(upload)
        self._part_file = upload

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_file is not None:
            # PERF: callbacks are synchronous, so file writes (which may hit the disk in a
            # thread) are queued and done once per received chunk.
            self._pending_writes.append((self._part_file, data[start:end]))
            return
        self._part_data += data[start:end]
        if len(self._part_data) > self.max_part_size:
            raise MultiPartException(
                f"Part exceeded maximum size of {self.max_part_size // 1024}KB."
            )

    def _on_part_end(self) -> None:
        if self._part_file is not None:
            self._items.append((self._part_name, self._part_file))
            self._part_file = None
            return
        value = bytes(self._part_data)
        if self._part_name == _CHARSET_FIELD:
            self._charset = _usable_charset(value) or self._charset
        self._items.append((self._part_name, value))

    async def _write_pending(self) -> None:
        pending = self._pending_writes
        if pending:
            self._pending_writes = []
            for upload, data in pending:
                await upload.write(data)

    async def parse(self) -> FormData:
        """Read the whole stream and return its fields and files, in order."""
        _, params = parse_options_header(self.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if not boundary:
            raise MultiPartException("Missing boundary in multipart.")
        self._charset = _usable_charset(params.get(b"charset")) or _DEFAULT_CHARSET
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
        }
        try:
            try:
                parser = MultipartParser(boundary, callbacks)
                async for chunk in self.stream:
                    if chunk:
                        parser.write(chunk)
                        await self._write_pending()
                parser.finalize()
            except FormParserError as exc:
                raise MultiPartException("Invalid multipart data.") from exc
            await self._write_pending()
        except BaseException:
            for upload in self._opened:
                await upload.close()
            raise
        if self._part_file is not None:
            # NOTE: a body that ends inside a file part drops that part (as it drops an
            # unfinished field); its spool must still be released.
            await self._part_file.close()
        for _, value in self._items:
            if isinstance(value, UploadFile):
                await value.seek(0)
        charset = self._charset
        return FormData(
            [
                (
                    _decode_lenient(name, charset),
                    value if isinstance(value, UploadFile) else _decode_lenient(value, charset),
                )
                for name, value in self._items
            ]
        )
