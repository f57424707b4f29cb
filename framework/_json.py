"""The framework's JSON codec: orjson for speed, the stdlib wherever their answers would differ.

Starlette encodes with ``json.dumps(ensure_ascii=False, allow_nan=False, separators=(",", ":"))``.
orjson writes the same bytes for the JSON types 13-36x faster (measured for issue 2), but differs
on a few inputs, so those go through the stdlib to keep the exact behaviour: values orjson cannot
encode (non-str keys, integers above 64 bits, subclasses, datetimes, dataclasses), NaN and
infinities (orjson silently writes ``null`` where the stdlib raises), and on decoding, NaN
literals and integers too long for 64 bits (orjson turns those into floats).

NOTE: floats below 1e-4 are spelled differently (orjson ``1e-7``, the stdlib ``1e-07``); the value
is the same, so this one difference is accepted.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_stdlib_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
)


def dumps(content: Any) -> bytes:
    """Encode ``content`` as compact UTF-8 JSON, exactly as Starlette's ``JSONResponse`` would."""
    try:
        encoded = orjson.dumps(content, option=_PASSTHROUGH)
    except TypeError:
        return _stdlib_encoder.encode(content).encode("utf-8")
    # NOTE: orjson writes NaN and infinities as null, where the stdlib raises. Only output with
    # a null can hide one, and then a walk over the value finds out far faster than
    # re-encoding with the stdlib (100 records with a None field: 93 -> 56 µs, orjson alone 12).
    if b"null" in encoded and _has_non_finite(content):
        return _stdlib_encoder.encode(content).encode("utf-8")
    return encoded


def _has_non_finite(content: Any) -> bool:
    """Whether ``content`` holds a NaN or an infinity (in the containers orjson encoded)."""
    pending = [content]
    while pending:
        item = pending.pop()
        cls = item.__class__
        if cls is float:
            if not math.isfinite(item):
                return True
        elif cls is dict:
            pending.extend(item.values())
        elif cls is list or cls is tuple:
            pending.extend(item)
    return False


# Nineteen digits may already overflow a 64-bit integer; rare, so this scan rarely costs.
_LONG_NUMBER_BYTES = re.compile(rb"[0-9]{19}")
_LONG_NUMBER_TEXT = re.compile(r"[0-9]{19}")


def loads(data: bytes | str) -> Any:
    """Decode JSON exactly as ``json.loads`` does, with orjson where the two agree."""
    pattern = _LONG_NUMBER_TEXT if isinstance(data, str) else _LONG_NUMBER_BYTES
    if pattern.search(data) is None:  # type: ignore[arg-type]
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
