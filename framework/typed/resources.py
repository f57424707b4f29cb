"""Resource modules: endpoint classes found in modules and packages, wired into routes at start-up.

```python
resource = Resource(prefix="/todos", tags=["todos"])   # optional, one per module

class TodoItem(HTTPEndpoint):
    path = "/{todo_id:int}"                             # served at /todos/{todo_id:int}
```

``App(resources=[...])`` takes modules, dotted module names and packages (every submodule is
imported). Each class defined in a scanned module that subclasses ``HTTPEndpoint`` or
``WebSocketEndpoint`` and has a ``path`` becomes one route; its handlers are read into plans
at once, so a signature that cannot be served, two classes serving one method of one path, or a
route shadowed by an earlier one is an error before the app serves anything.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeGuard, TypeVar

import attrs

from framework.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    PathConvertor,
    StringConvertor,
    UUIDConvertor,
)
from framework.endpoints import (
    BoundHTTPEndpoint,
    BoundWebSocketEndpoint,
    HTTPEndpoint,
    WebSocketBinding,
    WebSocketEndpoint,
)
from framework.responses import Response
from framework.routing import (
    BaseRoute,
    Match,
    Mount,
    Route,
    WebSocketRoute,
    share_allowed_methods,
)
from framework.typed.converter import APIConverter, default_converter
from framework.typed.invoke import build_invoker
from framework.typed.plan import OperationPlan, WebSocketPlan
from framework.typed.signature import plan_operation, plan_websocket

__all__ = [
    "Resource",
    "ResourceItem",
    "RouteConflictError",
    "WiredEndpoint",
    "Wiring",
    "bind_http_route",
    "bind_routes",
    "bind_websocket_route",
    "find_endpoints",
    "find_modules",
    "wire_resources",
]

ResourceItem = ModuleType | str
"""What ``App(resources=[...])`` takes: a module or package, or its dotted name."""

T = TypeVar("T")

EndpointClass = type[HTTPEndpoint] | type[WebSocketEndpoint]

_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# Texts each built-in convertor accepts, used to probe whether an earlier route matches every
# path of a later one. NOTE: two samples per parameter, so that an earlier route matching only
# one literal value (``/todos/me``) never counts as covering a parameter (``/todos/{id}``).
_SAMPLES: dict[type[Convertor[Any]], tuple[str, ...]] = {
    StringConvertor: ("0", "sample"),
    PathConvertor: ("", "sample/0"),
    IntegerConvertor: ("0", "42"),
    FloatConvertor: ("0", "1.5"),
    UUIDConvertor: (str(uuid.UUID(int=0)), "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
}


class RouteConflictError(ValueError):
    """Two routes of an app collide: one method of one path served twice, or a route shadowed
    by an earlier one so that it can never match. Raised at start-up, naming both."""


class Resource:
    """The settings shared by the endpoint classes of one module: a path prefix and tags.

    ``prefix`` is put before each class's ``path`` (``"/todos"`` + ``"/{todo_id:int}"``);
    ``tags`` go on every OpenAPI operation of the module; ``name``, when given, namespaces the
    module's route names (``url_path_for("todos:TodoItem", ...)``), as a named ``Mount`` does.
    """

    __slots__ = ("name", "prefix", "tags")

    def __init__(
        self, prefix: str = "", tags: Iterable[str] = (), *, name: str | None = None
    ) -> None:
        if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
            raise ValueError(f"Resource(prefix={prefix!r}): a prefix is '' or starts with '/'")
        if isinstance(tags, str):
            # NOTE: a lone string would otherwise become one tag per character.
            raise TypeError(f"Resource(tags={tags!r}): give a list of tags, e.g. [{tags!r}]")
        # NOTE: "/todos/" + "/{id}" would give a double slash; the prefix ends without one.
        self.prefix = prefix.rstrip("/")
        self.tags = tuple(tags)
        self.name = name

    def __repr__(self) -> str:
        return f"Resource(prefix={self.prefix!r}, tags={list(self.tags)!r}, name={self.name!r})"


@attrs.frozen
class WiredEndpoint:
    """An endpoint class found in a resource module, with the path and name it is served under."""

    cls: EndpointClass
    path: str
    name: str
    tags: tuple[str, ...]


@attrs.frozen
class Wiring:
    """Routes made from endpoint classes, and the plans read for them, in route order.

    ``json_errors`` holds the ``(endpoint class, method)`` pairs served by typed handlers: their
    ``HTTPException``s are answered as JSON, as their OpenAPI operations say.
    """

    routes: tuple[BaseRoute, ...] = ()
    operations: tuple[OperationPlan, ...] = ()
    websockets: tuple[WebSocketPlan, ...] = ()
    json_errors: frozenset[tuple[type, str]] = frozenset()

    def __add__(self, other: Wiring) -> Wiring:
        return Wiring(
            self.routes + other.routes,
            self.operations + other.operations,
            self.websockets + other.websockets,
            self.json_errors | other.json_errors,
        )


def _is_starlette_style(plan: OperationPlan) -> bool:
    """A handler taking the request alone and returning a response: Starlette's own kind."""
    parameters = plan.parameters
    returned = plan.return_type
    return (
        len(parameters) == 1
        and parameters[0].injector == "request"
        and isinstance(returned, type)
        and issubclass(returned, Response)
    )


def _json_errors(plans: Iterable[OperationPlan]) -> frozenset[tuple[type, str]]:
    typed: set[tuple[type, str]] = set()
    for plan in plans:
        if not _is_starlette_style(plan):
            typed.add((plan.endpoint, plan.method))
    # HEAD is served by the GET handler unless the class has its own.
    heads = {(cls, "HEAD") for cls, method in typed if method == "GET"}
    served_heads = {(plan.endpoint, "HEAD") for plan in plans if plan.method == "HEAD"}
    return frozenset(typed | (heads - served_heads))


def _import(item: ResourceItem) -> ModuleType:
    if isinstance(item, ModuleType):
        return item
    if isinstance(item, str):
        return importlib.import_module(item)
    raise TypeError(
        f"App(resources=...) takes modules, packages or dotted module names, not {item!r}"
    )


def _submodules(package: ModuleType) -> Iterator[ModuleType]:
    """Every module below ``package``, imported; subpackages recursively."""
    # NOTE: not pkgutil.walk_packages: it swallows a subpackage's ImportError, and a resource
    # module that fails to import must stop the app, not silently lose its routes.
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        yield module
        if info.ispkg:
            yield from _submodules(module)


def find_modules(items: Iterable[ResourceItem]) -> list[ModuleType]:
    """The modules to scan: each item, and every submodule of each package, by module name.

    NOTE: sorted by name over all items (the order the routes are tried in), so that the
    routing does not depend on how the list happens to be written.
    """
    found: dict[str, ModuleType] = {}
    for item in items:
        module = _import(item)
        found.setdefault(module.__name__, module)
        if hasattr(module, "__path__"):
            for submodule in _submodules(module):
                found.setdefault(submodule.__name__, submodule)
    return [found[name] for name in sorted(found, key=lambda name: name.split("."))]


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _module_resource(module: ModuleType) -> Resource:
    resources = [value for value in vars(module).values() if isinstance(value, Resource)]
    if len(resources) > 1:
        raise ValueError(
            f"module {module.__name__} has {len(resources)} Resource objects; "
            "a module has at most one (split the endpoints into modules)"
        )
    return resources[0] if resources else Resource()


def _is_endpoint_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, (HTTPEndpoint, WebSocketEndpoint))


def find_endpoints(module: ModuleType) -> list[WiredEndpoint]:
    """The endpoint classes defined in ``module`` that have a ``path``, in definition order.

    A class imported into the module from elsewhere is not wired here (it is wired where it is
    defined, if that module is scanned).
    """
    resource = _module_resource(module)
    found: list[WiredEndpoint] = []
    seen: set[type] = set()
    # NOTE: a module's namespace keeps the order names were first bound in, which for class
    # statements is their definition order.
    for value in vars(module).values():
        if not _is_endpoint_class(value) or value in seen:
            continue
        seen.add(value)
        cls: EndpointClass = value
        if cls.__module__ != module.__name__:
            continue
        path = getattr(cls, "path", None)
        if not isinstance(path, str):
            continue
        where = _qualified(cls)
        if path and not path.startswith("/"):
            raise ValueError(f"{where}: path {path!r} must be '' or start with '/'")
        full_path = resource.prefix + path or "/"
        name = getattr(cls, "name", None)
        if name is None:
            name = cls.__name__
        elif not isinstance(name, str):
            raise TypeError(f"{where}: name must be a string, not {name!r}")
        if resource.name is not None:
            name = f"{resource.name}:{name}"
        found.append(WiredEndpoint(cls, full_path, name, resource.tags))
    return found


def _describe(route: BaseRoute) -> str:
    """How an error message names a route: its endpoint's ``module.Class``, or the route."""
    if isinstance(route, (Route, WebSocketRoute)):
        return _qualified(route.endpoint)
    if isinstance(route, Mount):
        return f"Mount({route.path!r})"
    return repr(route)


def _methods(route: BaseRoute) -> tuple[str, ...]:
    """The methods a route serves: ``("",)`` stands for the single kind of WebSocket route."""
    if isinstance(route, WebSocketRoute):
        return ("",)
    if isinstance(route, Route) and route.methods is not None:
        return tuple(method for method in _ALL_METHODS if method in route.methods) + tuple(
            sorted(route.methods.difference(_ALL_METHODS))
        )
    return _ALL_METHODS


def _sample_paths(route: Route | WebSocketRoute) -> list[str]:
    """Concrete paths the route matches, covering its parameters; empty if it cannot tell."""
    names = list(route.param_convertors)
    options: list[tuple[str, ...]] = []
    for name in names:
        samples = _SAMPLES.get(type(route.param_convertors[name]))
        if samples is None:
            # NOTE: a custom convertor's language is unknown; skip rather than guess.
            return []
        options.append(samples)
    paths = []
    for values in itertools.product(*options):
        path = route.path_format
        for name, value in zip(names, values, strict=True):
            path = path.replace("{" + name + "}", value)
        paths.append(path)
    return paths


def _probe(path: str, method: str) -> dict[str, Any]:
    if method:
        return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    return {"type": "websocket", "path": path, "root_path": "", "headers": []}


def _full_match(route: BaseRoute, path: str, method: str) -> bool:
    match, _ = route.matches(_probe(path, method))
    return match is Match.FULL


def _check_conflicts(routes: Sequence[BaseRoute], first: int) -> None:
    """Refuse every route from index ``first`` on that an earlier route makes unreachable.

    An earlier route shadows a later one for a method when it fully matches every path the
    later one can take: its exact path when literal, else a set of sample values for each
    parameter. The same path served twice for one method is reported as a duplicate.
    """
    for position in range(first, len(routes)):
        later = routes[position]
        if not isinstance(later, (Route, WebSocketRoute)):
            continue
        samples = _sample_paths(later)
        if not samples or not all(_matches_self(later, path) for path in samples):
            # NOTE: samples the route itself refuses prove nothing; better no check than a
            # false alarm.
            continue
        for earlier in routes[:position]:
            if not isinstance(earlier, (Route, WebSocketRoute, Mount)):
                continue
            for method in _methods(later):
                if method == "HEAD" and "GET" in _methods(later):
                    # NOTE: HEAD comes with GET; the GET conflict is the one worth naming.
                    continue
                if all(_full_match(earlier, path, method) for path in samples):
                    raise _conflict(earlier, later, method)


def _matches_self(route: Route | WebSocketRoute, path: str) -> bool:
    method = "" if isinstance(route, WebSocketRoute) else _methods(route)[0]
    return _full_match(route, path, method)


def _conflict(earlier: BaseRoute, later: Route | WebSocketRoute, method: str) -> RouteConflictError:
    what = f"{method} {later.path}" if method else f"WebSocket {later.path}"
    first, second = _describe(earlier), _describe(later)
    if getattr(earlier, "path", None) == later.path:
        return RouteConflictError(
            f"{what} is served twice, by {first} and by {second}; each method of a path is "
            "served by one class"
        )
    shown = getattr(earlier, "path", repr(earlier))
    return RouteConflictError(
        f"{second} ({what}) can never match: {first} ({shown}) comes first and matches every "
        f"one of its paths; change a path, or define {second} first"
    )


def bind_http_route(
    route: Route,
    path: str,
    *,
    state_type: Any = None,
    tags: Sequence[str] = (),
    converter: APIConverter = default_converter,
) -> dict[str, OperationPlan]:
    """Plan each handler of the ``HTTPEndpoint`` class ``route.endpoint`` for ``path`` (the
    route's full path), build the invokers and bind the route to them; the plans by method.

    Raises ``HandlerDefinitionError`` for a handler that cannot be served, and then binds
    nothing. ``state_type`` is the type of the object the app's lifespan yields.
    """
    cls = route.endpoint
    if not _is_subclass(cls, HTTPEndpoint):
        raise TypeError(f"{route!r} does not serve an HTTPEndpoint class")
    plans: dict[str, OperationPlan] = {}
    for method, handler_name in cls.handler_names().items():
        if method == "HEAD" and handler_name == "get":
            continue
        plans[method] = plan_operation(
            cls,
            handler_name,
            path,
            route_name=route.name,
            state_type=state_type,
            tags=tags,
            converter=converter,
        )
    invokers = {method: build_invoker(plan, converter) for method, plan in plans.items()}
    if "HEAD" not in invokers and "GET" in invokers:
        invokers["HEAD"] = invokers["GET"]
    route.bind(BoundHTTPEndpoint(cls, invokers))
    return plans


def bind_websocket_route(
    route: WebSocketRoute,
    path: str,
    *,
    state_type: Any = None,
    tags: Sequence[str] = (),
    converter: APIConverter = default_converter,
) -> WebSocketPlan:
    """Plan the ``WebSocketEndpoint`` class ``route.endpoint`` for ``path`` and bind the
    route to it (see `bind_http_route`); the plan."""
    cls = route.endpoint
    if not _is_subclass(cls, WebSocketEndpoint):
        raise TypeError(f"{route!r} does not serve a WebSocketEndpoint class")
    plan = plan_websocket(
        cls, path, route_name=route.name, state_type=state_type, tags=tags, converter=converter
    )
    route.bind(BoundWebSocketEndpoint(cls, WebSocketBinding.build(plan, converter)))
    return plan


def wire_resources(
    items: Iterable[ResourceItem],
    *,
    state_type: Any = None,
    converter: APIConverter = default_converter,
    before: Sequence[BaseRoute] = (),
) -> Wiring:
    """Routes and plans for every endpoint class found in ``items``.

    ``before`` are the routes the app tries first: a wired route they shadow is an error too.
    Raises ``HandlerDefinitionError`` for a handler that cannot be served and
    ``RouteConflictError`` for duplicate or shadowed routes.
    """
    routes: list[BaseRoute] = []
    operations: list[OperationPlan] = []
    websockets: list[WebSocketPlan] = []
    for module in find_modules(items):
        for wired in find_endpoints(module):
            cls = wired.cls
            options: dict[str, Any] = {
                "state_type": state_type,
                "tags": wired.tags,
                "converter": converter,
            }
            if issubclass(cls, HTTPEndpoint):
                http = Route(wired.path, cls, methods=list(cls.handler_names()), name=wired.name)
                operations.extend(bind_http_route(http, wired.path, **options).values())
                routes.append(http)
            else:
                socket = WebSocketRoute(wired.path, cls, name=wired.name)
                websockets.append(bind_websocket_route(socket, wired.path, **options))
                routes.append(socket)
    _check_conflicts([*before, *routes], len(before))
    by_path: dict[str, list[Route]] = {}
    for route in routes:
        if isinstance(route, Route):
            by_path.setdefault(route.path, []).append(route)
    for siblings in by_path.values():
        if len(siblings) > 1:
            share_allowed_methods(siblings)
    return Wiring(tuple(routes), tuple(operations), tuple(websockets), _json_errors(operations))


def bind_routes(
    routes: Iterable[BaseRoute],
    *,
    state_type: Any = None,
    converter: APIConverter = default_converter,
    prefix: str = "",
) -> Wiring:
    """Bind every route in ``routes`` that serves an endpoint class (see `bind_http_route`).

    Mounted routes are walked too, their paths joined to the mount's prefix. The result's
    ``routes`` is empty: the routes are the caller's already. Plans of a route left out of the
    schema (``include_in_schema=False``) are bound but not returned.
    """
    operations: list[OperationPlan] = []
    websockets: list[WebSocketPlan] = []
    json_errors: set[tuple[type, str]] = set()
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(route, Route) and _is_subclass(endpoint, HTTPEndpoint):
            plans = bind_http_route(
                route, prefix + route.path, state_type=state_type, converter=converter
            )
            json_errors.update(_json_errors(plans.values()))
            if route.include_in_schema:
                methods = route.methods
                operations.extend(
                    plan for method, plan in plans.items() if methods is None or method in methods
                )
        elif isinstance(route, WebSocketRoute) and _is_subclass(endpoint, WebSocketEndpoint):
            websockets.append(
                bind_websocket_route(
                    route, prefix + route.path, state_type=state_type, converter=converter
                )
            )
        elif isinstance(route, Mount):
            inner = bind_routes(
                route.routes,
                state_type=state_type,
                converter=converter,
                prefix=prefix + route.path,
            )
            operations.extend(inner.operations)
            websockets.extend(inner.websockets)
            json_errors.update(inner.json_errors)
    return Wiring((), tuple(operations), tuple(websockets), frozenset(json_errors))


def _is_subclass(value: object, cls: type[T]) -> TypeGuard[type[T]]:
    return isinstance(value, type) and issubclass(value, cls)
