"""Settings read from the environment and from a ``.env`` file, cast to the types the app wants."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TypeVar, overload

__all__ = ["Config", "Environ", "EnvironError", "environ"]

T = TypeVar("T")


class EnvironError(Exception):
    """An environment variable was changed after the app had already read it."""


class Environ(MutableMapping[str, str]):
    """A view of ``os.environ`` that refuses to change a variable once it has been read.

    Changing a setting after the app has read it would leave the app running on the old value,
    so tests that patch the environment must do it before the app is imported.
    """

    def __init__(self, environ: MutableMapping[str, str] = os.environ) -> None:
        self._environ = environ
        self._has_been_read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self._has_been_read.add(key)
        return self._environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._refuse_if_read(key, "set")
        self._environ[key] = value

    def __delitem__(self, key: str) -> None:
        self._refuse_if_read(key, "delete")
        del self._environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)

    def _refuse_if_read(self, key: str, action: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(
                f"Attempting to {action} environ['{key}'], but the value has already been read."
            )


environ = Environ()


class _Undefined:
    """The marker for "no default given" (``None`` is a legitimate default)."""


_UNDEFINED: Any = _Undefined()

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _read_env_file(path: str | Path, encoding: str) -> dict[str, str]:
    """``KEY=value`` pairs of a ``.env`` file; comments and lines without ``=`` are skipped."""
    values: dict[str, str] = {}
    with open(path, encoding=encoding) as file:
        for line in file:
            line = line.strip()
            if line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            # NOTE: quotes are stripped character by character from both ends, as Starlette
            # does, so '"x"' and "'x'" both give x.
            values[key.strip()] = value.strip().strip("\"'")
    return values


class Config:
    """Settings looked up by name: first in ``environ``, then in ``env_file``, then the default.

    ``config("DEBUG", cast=bool, default=False)`` returns the setting cast to a type; a missing
    setting without a default raises ``KeyError``, and a value that cannot be cast ``ValueError``.
    """

    def __init__(
        self,
        env_file: str | Path | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is not None:
            if os.path.isfile(env_file):
                self.file_values = _read_env_file(env_file, encoding)
            else:
                warnings.warn(f"Config file '{env_file}' not found.", stacklevel=2)

    @overload
    def __call__(self, key: str, *, default: None) -> str | None: ...

    @overload
    def __call__(self, key: str, cast: None = None) -> str: ...

    @overload
    def __call__(self, key: str, cast: None = None, *, default: T) -> str | T: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T], default: None) -> T | None: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T], default: Any = ...) -> T: ...

    def __call__(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = _UNDEFINED
    ) -> Any:
        """Shorthand for :meth:`get`."""
        # NOTE: through an untyped alias because the overloads cannot express "any of them";
        # calling get() (not a private helper) keeps subclasses that override get() working.
        get: Callable[..., Any] = self.get
        return get(key, cast, default)

    @overload
    def get(self, key: str, *, default: None) -> str | None: ...

    @overload
    def get(self, key: str, cast: None = None) -> str: ...

    @overload
    def get(self, key: str, cast: None = None, *, default: T) -> str | T: ...

    @overload
    def get(self, key: str, cast: Callable[[Any], T], default: None) -> T | None: ...

    @overload
    def get(self, key: str, cast: Callable[[Any], T], default: Any = ...) -> T: ...

    def get(
        self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = _UNDEFINED
    ) -> Any:
        """The setting ``env_prefix + key``, cast with ``cast`` (the default is cast as well)."""
        key = self.env_prefix + key
        if key in self.environ:
            return self._perform_cast(key, self.environ[key], cast)
        if key in self.file_values:
            return self._perform_cast(key, self.file_values[key], cast)
        if default is not _UNDEFINED:
            return self._perform_cast(key, default, cast)
        raise KeyError(f"Config '{key}' is missing, and has no default.")

    def _perform_cast(self, key: str, value: Any, cast: Callable[[Any], Any] | None) -> Any:
        if cast is None or value is None:
            return value
        if cast is bool and isinstance(value, str):
            lowered = value.lower()
            if lowered not in _BOOLEANS:
                raise ValueError(f"Config '{key}' has value '{lowered}'. Not a valid bool.")
            return _BOOLEANS[lowered]
        try:
            return cast(value)
        except (TypeError, ValueError) as exc:
            # NOTE: callable objects have no __name__; their repr names them instead.
            name = getattr(cast, "__name__", None) or repr(cast)
            raise ValueError(f"Config '{key}' has value '{value}'. Not a valid {name}.") from exc
