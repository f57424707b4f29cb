from __future__ import annotations

import http

from framework import status


def test_every_constant_is_named_after_its_code() -> None:
    for name in status.__all__:
        value = getattr(status, name)
        assert name.split("_")[1] == str(value)


def test_http_constants_cover_the_stdlib_status_codes() -> None:
    codes = {getattr(status, n) for n in status.__all__ if n.startswith("HTTP_")}
    assert {s.value for s in http.HTTPStatus} <= codes


def test_current_and_former_names_agree() -> None:
    assert status.HTTP_413_CONTENT_TOO_LARGE == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == 413
    assert status.HTTP_422_UNPROCESSABLE_CONTENT == status.HTTP_422_UNPROCESSABLE_ENTITY == 422
    assert status.WS_1008_POLICY_VIOLATION == 1008
