from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.config import Config, Environ, EnvironError, environ
from framework.datastructures import CommaSeparatedStrings, Secret


def test_module_environ_wraps_os_environ() -> None:
    assert isinstance(environ, Environ)
    assert environ._environ is os.environ


def test_config_from_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n"
        "DATABASE_URL=postgres://user:pass@localhost/db\n"
        "REQUEST_TIMEOUT = 10 \n"
        "DEBUG=true\n"
        "SECRET_KEY='12345'\n"
        'QUOTED="a=b"\n'
        "not a setting\n"
        "  # INDENTED_COMMENT=1\n"
        "EMPTY=\n"
        "\n"
        "ALLOWED_HOSTS=127.0.0.1, localhost\n",
        encoding="utf-8",
    )
    config = Config(path, environ={})

    assert config("DATABASE_URL") == "postgres://user:pass@localhost/db"
    assert config("REQUEST_TIMEOUT", cast=int) == 10
    assert config("DEBUG", cast=bool) is True
    assert config("QUOTED") == "a=b"
    assert config("EMPTY") == ""
    assert "INDENTED_COMMENT" not in config.file_values
    assert "# INDENTED_COMMENT" not in config.file_values
    assert "not a setting" not in config.file_values

    secret = config("SECRET_KEY", cast=Secret)
    assert repr(secret) == "Secret('**********')"
    assert str(secret) == "12345"

    hosts = config("ALLOWED_HOSTS", cast=CommaSeparatedStrings)
    assert list(hosts) == ["127.0.0.1", "localhost"]


def test_env_file_as_str_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes("NAME=caf\xe9\n".encode("latin-1"))
    assert Config(str(path), environ={}, encoding="latin-1")("NAME") == "caf\xe9"


def test_missing_env_file_warns(tmp_path: Path) -> None:
    missing = tmp_path / "missing.env"
    with pytest.warns(UserWarning, match=re.escape(f"Config file '{missing}' not found.")):
        config = Config(missing, environ={})
    assert config.file_values == {}


def test_environ_wins_over_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("NAME=from-file\nOTHER=file\n")
    config = Config(path, environ={"NAME": "from-env"})
    assert config("NAME") == "from-env"
    assert config("OTHER") == "file"


def test_missing_key_without_default() -> None:
    config = Config(environ={})
    with pytest.raises(KeyError, match=r"Config 'MISSING' is missing, and has no default\."):
        config("MISSING")
    with pytest.raises(KeyError, match="Config 'MISSING' is missing"):
        config.get("MISSING", int)


def test_defaults_are_cast() -> None:
    config = Config(environ={})
    assert config("MISSING", default=None) is None
    assert config("MISSING", cast=int, default=None) is None
    assert config("MISSING", default="x") == "x"
    assert config("MISSING", cast=int, default="5") == 5
    assert config("MISSING", cast=bool, default="false") is False
    assert config("MISSING", cast=bool, default=True) is True
    assert config.get("MISSING", int, 3) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("False", False), ("0", False)],
)
def test_bool_strings(text: str, expected: bool) -> None:
    assert Config(environ={"FLAG": text})("FLAG", cast=bool) is expected


def test_invalid_bool() -> None:
    config = Config(environ={"FLAG": "Maybe"})
    with pytest.raises(ValueError, match=r"Config 'FLAG' has value 'maybe'\. Not a valid bool\."):
        config("FLAG", cast=bool)


def test_invalid_cast_names_the_callable() -> None:
    config = Config(environ={"N": "abc"})
    with pytest.raises(ValueError, match=r"Config 'N' has value 'abc'\. Not a valid int\.") as info:
        config("N", cast=int)
    assert isinstance(info.value.__cause__, ValueError)

    class Parser:
        def __call__(self, value: str) -> int:
            raise TypeError(value)

        def __repr__(self) -> str:
            return "<Parser>"

    with pytest.raises(ValueError, match=r"Not a valid <Parser>\."):
        config("N", cast=Parser())


def test_other_errors_from_cast_propagate() -> None:
    def fails(value: str) -> str:
        raise LookupError(value)

    with pytest.raises(LookupError):
        Config(environ={"N": "x"})("N", cast=fails)


def test_callable_cast() -> None:
    config = Config(environ={"NAME": "abc"})
    assert config("NAME", cast=str.upper) == "ABC"


def test_env_prefix(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("APP_FROM_FILE=1\n")
    config = Config(path, environ={"APP_DEBUG": "true", "DEBUG": "false"}, env_prefix="APP_")
    assert config("DEBUG", cast=bool) is True
    assert config("FROM_FILE", cast=int) == 1
    with pytest.raises(KeyError, match="Config 'APP_MISSING' is missing"):
        config("MISSING")


def test_environ_refuses_changes_after_read() -> None:
    env = Environ({})
    env["KEY"] = "1"
    env["KEY"] = "2"
    del env["KEY"]
    env["KEY"] = "3"
    assert env["KEY"] == "3"
    with pytest.raises(
        EnvironError,
        match=r"Attempting to set environ\['KEY'\], but the value has already been read\.",
    ):
        env["KEY"] = "4"
    with pytest.raises(
        EnvironError,
        match=r"Attempting to delete environ\['KEY'\], but the value has already been read\.",
    ):
        del env["KEY"]
    assert env["KEY"] == "3"


def test_environ_mapping_behaviour() -> None:
    backing: dict[str, str] = {"A": "1", "B": "2"}
    env = Environ(backing)
    assert len(env) == 2
    assert sorted(env) == ["A", "B"]
    env["C"] = "3"
    assert backing["C"] == "3"
    del env["A"]
    assert "A" not in backing
    with pytest.raises(KeyError):
        env["MISSING"]


def test_config_reading_marks_environ_as_read() -> None:
    env = Environ({"DEBUG": "1"})
    config = Config(environ=env)
    assert config("DEBUG", cast=bool) is True
    with pytest.raises(EnvironError):
        env["DEBUG"] = "0"
    # A key that was never read can still change.
    env["OTHER"] = "x"


def test_os_environ_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMEWORK_TEST_CONFIG_VALUE", "42")
    config = Config(environ=Environ())
    assert config("FRAMEWORK_TEST_CONFIG_VALUE", cast=int) == 42


_keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,20}", fullmatch=True)
_values = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\"'#"
    ),
    max_size=30,
).map(str.strip)


@given(st.dictionaries(_keys, _values, max_size=10))
def test_env_file_round_trip(values: dict[str, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / ".env"
        lines = [f"{key}={value}" for key, value in values.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = Config(path, environ={})
        assert config.file_values == values
        for key, value in values.items():
            assert config(key) == value
