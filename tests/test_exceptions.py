from __future__ import annotations

from framework.exceptions import HTTPException, WebSocketException


def test_http_exception_defaults_detail_to_the_reason_phrase() -> None:
    exc = HTTPException(404)
    assert exc.detail == "Not Found"
    assert exc.headers is None
    assert str(exc) == "404: Not Found"
    assert repr(exc) == "HTTPException(status_code=404, detail='Not Found')"


def test_http_exception_keeps_detail_and_headers() -> None:
    exc = HTTPException(401, "no token", headers={"WWW-Authenticate": "Bearer"})
    assert (exc.status_code, exc.detail) == (401, "no token")
    assert exc.headers == {"WWW-Authenticate": "Bearer"}


def test_http_exception_repr_uses_the_subclass_name() -> None:
    class TeapotError(HTTPException):
        pass

    assert repr(TeapotError(418)) == 'TeapotError(status_code=418, detail="I\'m a Teapot")'


def test_http_exception_unknown_status_has_an_empty_detail() -> None:
    # Starlette 1.x: a code without a standard phrase is accepted with detail "".
    assert HTTPException(599).detail == ""
    assert str(HTTPException(299)) == "299: "
    assert HTTPException(599, "custom").detail == "custom"


def test_websocket_exception() -> None:
    exc = WebSocketException(1008, "policy")
    assert (exc.code, exc.reason) == (1008, "policy")
    assert str(exc) == "1008: policy"
    assert repr(exc) == "WebSocketException(code=1008, reason='policy')"
    assert WebSocketException(1000).reason == ""
