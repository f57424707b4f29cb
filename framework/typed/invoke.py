"""Serving requests from plans: a plan built, once, into the coroutine that serves it.

`build_invoker` reads an `OperationPlan` and nothing else, and prepares one small step per
parameter (named tuples of what each request needs: where to read, how to parse, where to
blame); the invoker runs only the steps the plan has (read, parse, validate, call, encode) and
answers 422 with every problem of the request at once. `build_message_reader` does the same
for the messages of a typed ``WebSocketEndpoint``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple

import anyio

from framework import _keys
from framework._exception_handlers import lookup_handler
from framework.background import BackgroundTask, BackgroundTasks
from framework.concurrency import run_in_threadpool
from framework.datastructures import FormData
from framework.middleware.bodylimit import (
    DEFAULT_MAX_BODY_SIZE,
    RequestBodyTooLarge,
    declared_length_exceeds,
)
from framework.requests import Request
from framework.responses import JSONResponse, Response
from framework.typed._typeinfo import convertor_output
from framework.typed.constraints import Constraints, check, split_annotated
from framework.typed.converter import APIConverter
from framework.typed.converter import default_converter as _default_converter
from framework.typed.errors import ErrorDetail, Loc, RequestValidationError, capped_errors
from framework.typed.forms import FormModelReader, missing, read_form_value
from framework.typed.plan import (
    BODILESS_STATUSES,
    Injector,
    Location,
    OperationPlan,
    Upload,
    WebSocketPlan,
)
from framework.typed.text import TextFn

__all__ = ["Invoker", "build_invoker", "build_message_reader", "lifespan_state"]

Invoker = Callable[[Any, Request], Awaitable[Response]]
"""Serves a request on an endpoint instance: reads the parameters, calls the handler, encodes."""

_BODY_LOC: Loc = ("body",)
_WS_DATA_LOC: Loc = ("data",)
_NOT_JSON = "expected a JSON body (Content-Type: application/json)"

_Problems = list[tuple[int, list[ErrorDetail]]]
_Read = Callable[[Any], Any]


class _PathStep(NamedTuple):
    """A path parameter: taken as the route matched it, or read further by ``read``."""

    position: int
    name: str
    wire: str
    read: _Read | None
    loc: Loc


class _TextStep(NamedTuple):
    """A query, header or cookie parameter parsed from its values' text."""

    position: int
    name: str
    wire: str
    parse: TextFn
    loc: Loc
    required: bool


class _BodyStep(NamedTuple):
    """The JSON body: decoded, then structured as the parameter's type."""

    position: int
    name: str
    decode: Callable[[bytes, Loc], Any]
    structure: Callable[[Any, Loc], Any]
    required: bool


class _FormStep(NamedTuple):
    """A form field or upload: parsed from text (``parse``), or the files of ``upload``."""

    position: int
    name: str
    wire: str
    upload: Upload | None
    parse: TextFn | None
    loc: Loc
    required: bool


class _ModelStep(NamedTuple):
    """A parameter reading the whole form into an attrs class."""

    position: int
    name: str
    reader: FormModelReader


class _Injection(NamedTuple):
    """A parameter the framework passes: the request, background tasks or lifespan state."""

    name: str
    injector: Injector


def lifespan_state(scope: Mapping[str, Any], handler: str) -> Any:
    """The object the app's lifespan yielded, for ``handler`` (named in the error if none)."""
    state = scope.get("state")
    if state is not None and _keys.LIFESPAN_STATE in state:
        return state[_keys.LIFESPAN_STATE]
    raise RuntimeError(
        f"{handler} takes the lifespan state, but the app has none: give App a lifespan that "
        "yields it (App(resources=..., lifespan=...))"
    )


class _EncodedJSONResponse(JSONResponse):
    """A JSON response around a body that is already encoded."""

    # PERF: the body comes from the converter's encoder; the generic constructor would only
    # re-check what is known here, and build the same two headers the slow way.
    def __init__(self, body: bytes, status_code: int) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", b"%d" % len(body)),
            (b"content-type", b"application/json"),
        ]


def _read_text(
    steps: Sequence[_TextStep],
    getlist: Callable[[str], list[str]],
    kwargs: dict[str, Any],
    problems: _Problems,
) -> None:
    for index, name, wire, parse, loc, required in steps:
        values = getlist(wire)
        if values:
            try:
                kwargs[name] = parse(values, loc)
            except RequestValidationError as exc:
                problems.append((index, exc.errors))
        elif required:
            problems.append((index, missing(loc)))
        # NOTE: an absent optional parameter is not passed: the handler's own default applies.


def _cookie_getlist(cookies: dict[str, str]) -> Callable[[str], list[str]]:
    def getlist(name: str) -> list[str]:
        value = cookies.get(name)
        return [] if value is None else [value]

    return getlist


def _invalid_request(problems: _Problems, request: Request) -> Response:
    """422 with every problem (up to `MAX_ERRORS`), in signature order; or the app's handler
    for the error."""
    problems.sort(key=lambda problem: problem[0])
    errors = capped_errors([error for _, found in problems for error in found])
    tables = request.scope.get(_keys.EXCEPTION_HANDLERS)
    if tables is not None:
        exc = RequestValidationError(errors)
        if lookup_handler(exc, *tables) is not None:
            raise exc
    return JSONResponse({"detail": [error.as_dict() for error in errors]}, status_code=422)


def _sends_json(request: Request) -> bool:
    """Whether the request's body may be read as JSON: it says nothing of its type, or says
    ``application/json`` or ``application/*+json`` (parameters allowed).

    NOTE: anything else is refused, not guessed at: browsers send ``text/plain`` and form
    bodies to other sites without asking first, so reading those as JSON would let any page
    make a signed-in user's browser call the API.
    """
    content_type = request.headers.get("content-type")
    # PERF: the usual header is compared whole, without parsing.
    if content_type is None or content_type == "application/json":
        return True
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _limits_reader(constraints: Constraints, loc: Loc) -> _Read:
    def read_limited(value: Any) -> Any:
        problems = check(value, constraints)
        if problems:
            raise RequestValidationError(
                [ErrorDetail(loc, problem, "value_error") for problem in problems]
            )
        return value

    return read_limited


def _text_reader(parse: TextFn, loc: Loc) -> _Read:
    def read_text(value: Any) -> Any:
        return parse((value,), loc)

    return read_text


def _is_plain(plan: OperationPlan) -> bool:
    """A Starlette-style handler: it takes the request alone and returns a response."""
    parameters = plan.parameters
    return (
        len(parameters) == 1
        and parameters[0].injector is Injector.REQUEST
        and plan.encoded_type is None
        and plan.return_type is not None
    )


def _plain_invoker(name: str, is_async: bool) -> Invoker:
    # NOTE: the handler is looked up on the instance at call time, as Starlette does, so
    # instance attributes and test doubles patched onto the class take effect.
    if is_async:

        async def invoke_async(endpoint: Any, request: Request) -> Response:
            response: Response = await getattr(endpoint, name)(request)
            return response

        return invoke_async

    async def invoke_sync(endpoint: Any, request: Request) -> Response:
        response: Response = await run_in_threadpool(getattr(endpoint, name), request)
        return response

    return invoke_sync


def _path_read(
    convertor_makes_it: bool,
    tp: Any,
    constraints: Constraints | None,
    loc: Loc,
    converter: APIConverter,
) -> _Read | None:
    if convertor_makes_it:
        return None if constraints is None else _limits_reader(constraints, loc)
    if tp is str and constraints is None:
        return None
    return _text_reader(converter.parse_text_fn(tp, constraints), loc)


def build_invoker(plan: OperationPlan, converter: APIConverter = _default_converter) -> Invoker:
    """The coroutine serving requests for ``plan``: every step prepared here, once."""
    name = plan.handler_name
    is_async = plan.is_async
    if _is_plain(plan):
        return _plain_invoker(name, is_async)
    qualified = plan.qualified_name
    path_steps: list[_PathStep] = []
    query_steps: list[_TextStep] = []
    header_steps: list[_TextStep] = []
    cookie_steps: list[_TextStep] = []
    form_steps: list[_FormStep] = []
    model_steps: list[_ModelStep] = []
    injected: list[_Injection] = []
    body_step: _BodyStep | None = None
    text_steps = {
        Location.QUERY: query_steps,
        Location.HEADER: header_steps,
        Location.COOKIE: cookie_steps,
    }
    for index, parameter in enumerate(plan.parameters):
        location = parameter.location
        pname = parameter.name
        wire = parameter.wire_name
        tp = parameter.annotation
        constraints = parameter.constraints or None
        loc: Loc = (location.value, wire)
        required = parameter.required
        if location is Location.INJECTED:
            injected.append(_Injection(pname, parameter.injector or Injector.REQUEST))
        elif location is Location.PATH:
            produced = (
                None if parameter.convertor is None else convertor_output(parameter.convertor)
            )
            makes_it = parameter.convertor is not None and produced is not str
            read = _path_read(makes_it, tp, constraints, loc, converter)
            path_steps.append(_PathStep(index, pname, wire, read, loc))
        elif location is Location.BODY:
            structure = converter.structure_fn(tp, constraints)
            body_step = _BodyStep(index, pname, converter.decode_json, structure, required)
        elif parameter.is_form_model:
            reader = FormModelReader(tp, parameter.form_fields, converter)
            model_steps.append(_ModelStep(index, pname, reader))
        elif location is Location.FORM:
            parse = converter.parse_text_fn(tp, constraints)
            form_steps.append(_FormStep(index, pname, wire, None, parse, loc, required))
        elif location is Location.FILE:
            form_steps.append(_FormStep(index, pname, wire, parameter.upload, None, loc, required))
        else:
            parse = converter.parse_text_fn(tp, constraints)
            text_steps[location].append(_TextStep(index, pname, wire, parse, loc, required))
    encoded = plan.encoded_type
    encode = converter.encode_fn(Any if encoded is None else encoded)
    encode_fn = converter.encode_fn
    status = plan.status_code
    bodiless = status in BODILESS_STATUSES
    none_status = status if plan.return_type is None else 204
    wants_background = any(i.injector is Injector.BACKGROUND for i in injected)

    async def invoke(endpoint: Any, request: Request) -> Response:
        if body_step is not None and not _sends_json(request):
            return JSONResponse({"detail": _NOT_JSON}, status_code=415)
        kwargs: dict[str, Any] = {}
        problems: _Problems = []
        if path_steps:
            path_params: dict[str, Any] = request.scope.get("path_params") or {}
            for index, pname, wire, read, loc in path_steps:
                if wire not in path_params:
                    problems.append((index, missing(loc)))
                elif read is None:
                    kwargs[pname] = path_params[wire]
                else:
                    try:
                        kwargs[pname] = read(path_params[wire])
                    except RequestValidationError as exc:
                        problems.append((index, exc.errors))
        if query_steps:
            _read_text(query_steps, request.query_params.getlist, kwargs, problems)
        if header_steps:
            _read_text(header_steps, request.headers.getlist, kwargs, problems)
        if cookie_steps:
            _read_text(cookie_steps, _cookie_getlist(request.cookies), kwargs, problems)
        if body_step is not None:
            await _read_body(body_step, request, kwargs, problems)
        form: FormData | None = None
        if form_steps or model_steps:
            form = await _read_form(form_steps, model_steps, request, kwargs, problems)
        if problems:
            if form is not None:
                await form.close()
            return _invalid_request(problems, request)
        tasks: BackgroundTasks | None = None
        if injected:
            for pname, injector in injected:
                if injector is Injector.REQUEST:
                    kwargs[pname] = request
                elif injector is Injector.BACKGROUND:
                    if tasks is None:
                        tasks = BackgroundTasks()
                    kwargs[pname] = tasks
                else:
                    kwargs[pname] = lifespan_state(request.scope, qualified)
        handler = getattr(endpoint, name)
        try:
            if is_async:
                result = await handler(**kwargs)
            else:
                result = await run_in_threadpool(handler, **kwargs)
        except BaseException:
            if form is not None:
                with anyio.CancelScope(shield=True):
                    await form.close()
            raise
        response: Response
        if result is None:
            response = Response(status_code=none_status)
        elif isinstance(result, Response):
            response = result
        elif bodiless:
            response = Response(status_code=status)
        else:
            try:
                body = encode(result)
            except Exception:
                # NOTE: a value that is not of the declared type (a subclass, a dict for a
                # model) is encoded as what it is; a value nothing can encode still fails.
                body = encode_fn(type(result))(result)
            response = _EncodedJSONResponse(body, status)
        if wants_background and tasks is not None and tasks.tasks:
            response.background = _then(response.background, tasks)
        if form is not None:
            # NOTE: the uploads stay open until the response and its background tasks are
            # done with them; then they are closed, as the framework opened them.
            response.background = _then(response.background, BackgroundTask(form.close))
        return response

    return invoke


async def _read_body(
    step: _BodyStep, request: Request, kwargs: dict[str, Any], problems: _Problems
) -> None:
    index, name, decode, structure, required = step
    if _keys.MAX_BODY_SIZE in request.scope:
        # A limiter is in force (max_body_size= on the app, a mount or the route): it counts.
        raw = await request.body()
    else:
        raw = await _read_within(request, DEFAULT_MAX_BODY_SIZE)
    if not raw:
        if required:
            problems.append((index, missing(_BODY_LOC)))
        return
    try:
        kwargs[name] = structure(decode(raw, _BODY_LOC), _BODY_LOC)
    except RequestValidationError as exc:
        problems.append((index, exc.errors))


async def _read_within(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass ``limit`` bytes.

    NOTE: the toolkit keeps Starlette's default of no limit; a typed JSON body, which the
    framework itself decodes and holds, gets this safe default unless one is configured.
    """
    if declared_length_exceeds(request.scope, limit):
        raise RequestBodyTooLarge(limit)
    if "content-length" in request.headers:
        # PERF: a declared length within the limit bounds the body (the server frames it
        # by that length), so it is read whole, with no counting per chunk.
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async with contextlib.aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise RequestBodyTooLarge(limit)
            chunks.append(chunk)
    return b"".join(chunks)


def _then(first: BackgroundTask | None, then: BackgroundTask) -> BackgroundTask:
    return then if first is None else BackgroundTasks([first, then])


async def _read_form(
    steps: Sequence[_FormStep],
    models: Sequence[_ModelStep],
    request: Request,
    kwargs: dict[str, Any],
    problems: _Problems,
) -> FormData:
    form = await request.form()
    for index, name, wire, upload, parse, loc, required in steps:
        items = form.getlist(wire)
        if not items:
            if required:
                problems.append((index, missing(loc)))
            continue
        try:
            kwargs[name] = await read_form_value(items, upload, parse, loc)
        except RequestValidationError as exc:
            problems.append((index, exc.errors))
    for index, name, reader in models:
        try:
            kwargs[name] = await reader.read(form)
        except RequestValidationError as exc:
            problems.append((index, exc.errors))
    return form


def build_message_reader(
    plan: WebSocketPlan, converter: APIConverter = _default_converter
) -> Callable[[Any], Any] | None:
    """The function structuring each decoded JSON message (raising `RequestValidationError`
    with locations under ``("data",)``), or ``None`` when messages are not typed."""
    if plan.encoding != "json" or plan.message_type in (Any, object):
        return None
    base, constraints, _ = split_annotated(plan.message_type)
    structure = converter.structure_fn(base, constraints or None)

    def read_message(data: Any) -> Any:
        return structure(data, _WS_DATA_LOC)

    return read_message
