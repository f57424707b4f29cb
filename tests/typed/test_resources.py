"""Resource discovery and wiring: which classes become routes, in which order, and the start-up
errors for duplicate and shadowed routes."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framework.convertors import CONVERTOR_TYPES, StringConvertor, register_url_convertor
from framework.endpoints import (
    BoundHTTPEndpoint,
    BoundWebSocketEndpoint,
    HTTPEndpoint,
    WebSocketEndpoint,
)
from framework.requests import Request
from framework.responses import PlainTextResponse, Response
from framework.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from framework.typed.plan import HandlerDefinitionError, Location
from framework.typed.resources import (
    Resource,
    RouteConflictError,
    Wiring,
    bind_routes,
    find_endpoints,
    find_modules,
    wire_resources,
)
from framework.websockets import WebSocket
from tests.resources_fixtures import shadowed
from tests.resources_fixtures.todo import todos, users
from tests.resources_fixtures.todo.extra import rooms

FIXTURES = "tests.resources_fixtures"


async def plain_get(self: HTTPEndpoint, request: Request) -> Response:
    return PlainTextResponse("ok")


async def typed_get(self: HTTPEndpoint) -> str:
    return "ok"


def endpoint(
    cls_name: str,
    cls_path: object,
    methods: Sequence[str] = ("get",),
    /,
    **extra: Any,
) -> type[HTTPEndpoint]:
    """An HTTPEndpoint subclass ``cls_name`` "defined" in module ``fake_resources``, with
    Starlette-style handlers (so any path template suits it); ``None`` means no ``path``."""
    namespace: dict[str, Any] = dict.fromkeys(methods, plain_get)
    if cls_path is not None:
        namespace["path"] = cls_path
    namespace.update(extra)
    namespace["__module__"] = "fake_resources"
    namespace["__qualname__"] = cls_name
    return cast(type[HTTPEndpoint], type(cls_name, (HTTPEndpoint,), namespace))


def module_of(*values: Any, name: str = "fake_resources", **named: Any) -> ModuleType:
    """A module whose namespace holds ``values`` (by their ``__name__``) and ``named``."""
    module = ModuleType(name)
    for value in values:
        setattr(module, value.__name__, value)
    for key, value in named.items():
        setattr(module, key, value)
    return module


def paths(wiring: Wiring) -> list[tuple[str, str]]:
    described = []
    for route in wiring.routes:
        assert isinstance(route, (Route, WebSocketRoute))
        described.append((route.path, route.name))
    return described


# Resource


def test_resource_defaults_and_normalised_prefix() -> None:
    assert Resource().prefix == ""
    assert Resource().tags == ()
    assert Resource("/todos/", ["a", "b"]).prefix == "/todos"
    assert Resource("/", ()).prefix == ""
    resource = Resource(prefix="/todos", tags=("todos",), name="t")
    assert (resource.prefix, resource.tags, resource.name) == ("/todos", ("todos",), "t")
    assert repr(resource) == "Resource(prefix='/todos', tags=['todos'], name='t')"


def test_resource_refuses_bad_prefix_and_tags() -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        Resource("todos")
    with pytest.raises(ValueError, match="starts with '/'"):
        Resource(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"list of tags, e\.g\. \['todos'\]"):
        Resource("/todos", "todos")


# Discovery


def test_a_package_is_scanned_recursively_in_module_name_order() -> None:
    names = [module.__name__ for module in find_modules([f"{FIXTURES}.todo"])]
    assert names == [
        f"{FIXTURES}.todo",
        f"{FIXTURES}.todo.extra",
        f"{FIXTURES}.todo.extra.rooms",
        f"{FIXTURES}.todo.todos",
        f"{FIXTURES}.todo.users",
    ]


def test_modules_are_sorted_and_deduplicated_over_all_items() -> None:
    found = find_modules([users, f"{FIXTURES}.todo.todos", todos, f"{FIXTURES}.todo.users"])
    assert found == [todos, users]


def test_items_must_be_modules_or_names() -> None:
    with pytest.raises(TypeError, match="modules, packages or dotted module names, not 42"):
        find_modules([42])  # type: ignore[list-item]
    with pytest.raises(ModuleNotFoundError):
        find_modules([f"{FIXTURES}.missing"])


@pytest.fixture
def broken_package(tmp_path: Any) -> Iterator[str]:
    """A package on sys.path whose subpackage fails to import."""
    root = tmp_path / "brokenpkg_for_resources"
    (root / "inner").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "inner" / "__init__.py").write_text("raise RuntimeError('inner is broken')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield root.name
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.startswith(root.name)]:
            del sys.modules[name]
        importlib.invalidate_caches()


def test_a_submodule_failing_to_import_stops_the_scan(broken_package: str) -> None:
    with pytest.raises(RuntimeError, match="inner is broken"):
        find_modules([broken_package])


def test_only_classes_defined_in_the_module_with_a_path_are_wired() -> None:
    found = find_endpoints(users)
    # TodoList is imported into users, Helper has no path.
    assert [wired.cls for wired in found] == [users.UserList, users.UserItem, users.UserAvatar]
    assert [wired.path for wired in found] == ["/users", "/users/{name}", "/users/{name}/avatar"]
    assert [wired.name for wired in found] == ["UserList", "user-detail", "UserAvatar"]
    assert {wired.tags for wired in found} == {("users",)}


def test_empty_path_under_a_prefix_is_the_prefix_and_alone_is_the_root() -> None:
    assert [wired.path for wired in find_endpoints(todos)] == ["/todos", "/todos/{todo_id:int}"]
    root = endpoint("Root", "")
    assert [wired.path for wired in find_endpoints(module_of(root))] == ["/"]


def test_definition_order_and_aliases() -> None:
    first = endpoint("First", "/first")
    second = endpoint("Second", "/second")
    module = module_of(second, first, Alias=second)
    assert [wired.cls for wired in find_endpoints(module)] == [second, first]


def test_websocket_endpoints_and_non_string_paths() -> None:
    found = find_endpoints(rooms)
    assert [wired.cls for wired in found] == [rooms.Room, rooms.RoomReader, rooms.RoomWriter]
    assert found[0].tags == ("rooms",)
    not_a_path = endpoint("NotAPath", 5)
    assert find_endpoints(module_of(not_a_path)) == []


def test_resource_name_namespaces_route_names() -> None:
    item = endpoint("Item", "/{id}")
    named = endpoint("Named", "/named", name="special")
    module = module_of(item, named, resource=Resource("/things", name="things"))
    assert [wired.name for wired in find_endpoints(module)] == ["things:Item", "things:special"]


def test_module_definition_errors() -> None:
    with pytest.raises(ValueError, match="has 2 Resource objects"):
        find_endpoints(module_of(a=Resource(), b=Resource()))
    relative = endpoint("Relative", "items")
    with pytest.raises(ValueError, match=r"fake_resources\.Relative: path 'items' must be"):
        find_endpoints(module_of(relative))
    badly_named = endpoint("BadlyNamed", "/x", name=3)
    with pytest.raises(TypeError, match=r"fake_resources\.BadlyNamed: name must be a string"):
        find_endpoints(module_of(badly_named))


# Wiring


def test_wiring_makes_one_route_per_class_with_its_methods() -> None:
    wiring = wire_resources([f"{FIXTURES}.todo"])
    routes = wiring.routes
    assert paths(wiring) == [
        ("/ws/rooms/{room}", "Room"),
        ("/rooms/{room}", "RoomReader"),
        ("/rooms/{room}", "RoomWriter"),
        ("/todos", "TodoList"),
        ("/todos/{todo_id:int}", "TodoItem"),
        ("/users", "UserList"),
        ("/users/{name}", "user-detail"),
        ("/users/{name}/avatar", "UserAvatar"),
    ]
    assert isinstance(routes[0], WebSocketRoute)
    assert routes[0].endpoint is rooms.Room
    methods = [route.methods for route in routes if isinstance(route, Route)]
    assert methods[:4] == [
        {"GET", "HEAD"},
        {"PUT"},
        {"GET", "HEAD", "POST"},
        {"GET", "HEAD", "DELETE"},
    ]
    assert [(plan.endpoint, plan.method) for plan in wiring.operations][:4] == [
        (rooms.RoomReader, "GET"),
        (rooms.RoomWriter, "PUT"),
        (todos.TodoList, "GET"),
        (todos.TodoList, "POST"),
    ]
    assert [plan.route_name for plan in wiring.websockets] == ["Room"]
    assert wiring.websockets[0].tags == ("rooms",)
    item = next(plan for plan in wiring.operations if plan.endpoint is todos.TodoItem)
    assert item.path == "/todos/{todo_id:int}"
    assert item.tags == ("todos",)
    assert item.located(Location.HEADER)[0].wire_name == "x-trace"


def test_typed_handlers_answer_errors_as_json_starlette_style_ones_do_not() -> None:
    wiring = wire_resources([users])
    assert wiring.json_errors == {
        (users.UserList, "GET"),
        (users.UserList, "HEAD"),
        (users.UserItem, "GET"),
        (users.UserItem, "HEAD"),
    }


def test_own_head_handler_decides_for_head() -> None:
    cls = endpoint("OwnHead", "/own", get=typed_get, head=plain_get)
    assert wire_resources([module_of(cls)]).json_errors == {(cls, "GET")}


def test_handler_definition_errors_propagate() -> None:
    with pytest.raises(HandlerDefinitionError, match=r"broken\.bad\.Bad\.get.*'item_id'"):
        wire_resources([f"{FIXTURES}.broken"])


def test_same_method_on_same_path_twice_names_both_classes() -> None:
    with pytest.raises(RouteConflictError) as info:
        wire_resources([f"{FIXTURES}.duplicate"])
    message = str(info.value)
    assert message.startswith("GET /things is served twice")
    assert f"{FIXTURES}.duplicate.first.Things" in message
    assert f"{FIXTURES}.duplicate.second.MoreThings" in message


def test_a_shadowed_route_names_both_classes() -> None:
    with pytest.raises(RouteConflictError) as info:
        wire_resources([shadowed])
    assert str(info.value) == (
        f"{FIXTURES}.shadowed.Me (GET /todos/me) can never match: "
        f"{FIXTURES}.shadowed.ById (/todos/{{todo_id}}) comes first and matches every one of "
        f"its paths; change a path, or define {FIXTURES}.shadowed.Me first"
    )


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("/a/{x}", "/a/{y}"),
        ("/a/{x}", "/a/{n:int}"),
        ("/a/{x}", "/a/{f:float}"),
        ("/a/{x}", "/a/{u:uuid}"),
        ("/a/{x:float}", "/a/{n:int}"),
        ("/a/{p:path}", "/a/{x}"),
        ("/a/{p:path}", "/a/{x}/b/{y:int}"),
        ("/{x}/b", "/a/b"),
        ("/{x}/{y}", "/a/{z}"),
        ("/a/{p:path}", "/a/"),
    ],
)
def test_shadowing_is_an_error(earlier: str, later: str) -> None:
    module = module_of(endpoint("Earlier", earlier), endpoint("Later", later))
    with pytest.raises(RouteConflictError, match=r"Later .* can never match"):
        wire_resources([module])


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("/a/me", "/a/{x}"),
        ("/a/{n:int}", "/a/{x}"),
        ("/a/{n:int}", "/a/{f:float}"),
        ("/a/{x}", "/a/{p:path}"),
        ("/a/{x}", "/a/"),
        ("/a/{x}", "/b/{x}"),
        ("/{x}/b", "/a/c"),
        ("/a/{u:uuid}", "/a/{x}"),
    ],
)
def test_routes_that_can_still_match_are_fine(earlier: str, later: str) -> None:
    module = module_of(endpoint("Earlier", earlier), endpoint("Later", later))
    assert len(wire_resources([module]).routes) == 2


def test_method_overlap_decides() -> None:
    fine = module_of(
        endpoint("Reader", "/a/{x}", ["get"]), endpoint("Writer", "/a/{y}", ["post", "put"])
    )
    assert len(wire_resources([fine]).routes) == 2
    clash = module_of(
        endpoint("Reader", "/a/{x}", ["get", "put"]), endpoint("Writer", "/a/b", ["post", "put"])
    )
    with pytest.raises(RouteConflictError, match=r"Writer \(PUT /a/b\) can never match"):
        wire_resources([clash])


def test_head_alone_conflicts_with_get() -> None:
    module = module_of(endpoint("Getter", "/a", ["get"]), endpoint("Header", "/a", ["head"]))
    with pytest.raises(RouteConflictError, match="HEAD /a is served twice"):
        wire_resources([module])


def test_websocket_routes_conflict_with_websocket_routes_only() -> None:
    class Socket(WebSocketEndpoint):
        path = "/a/{x}"

    class OtherSocket(WebSocketEndpoint):
        path = "/a/{y}"

    for cls in (Socket, OtherSocket):
        cls.__module__ = "fake_resources"
    fine = module_of(Socket, endpoint("Page", "/a/{z}"))
    assert len(wire_resources([fine]).routes) == 2
    with pytest.raises(RouteConflictError, match=r"OtherSocket \(WebSocket /a/\{y\}\)"):
        wire_resources([module_of(Socket, OtherSocket)])


def test_explicit_routes_before_the_resources_are_checked_too() -> None:
    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    module = module_of(endpoint("Things", "/things"), endpoint("Api", "/api/things"))
    with pytest.raises(RouteConflictError, match=r"served twice, by .*\.home and by "):
        wire_resources([module], before=[Route("/things", home)])
    with pytest.raises(RouteConflictError, match=r"Api .* Mount\('/api'\) \(/api\) comes first"):
        wire_resources([module], before=[Mount("/api", routes=[])])
    wiring = wire_resources([module], before=[Route("/things", home, methods=["POST"])])
    assert len(wiring.routes) == 2


def test_custom_convertors_are_not_guessed() -> None:
    class Slug(StringConvertor):
        regex = "[a-z-]+"

    register_url_convertor("slug_for_resources", Slug())
    try:
        by_slug = endpoint("BySlug", "/a/{s:slug_for_resources}")
        module = module_of(endpoint("Any", "/a/{x}"), by_slug)
        assert len(wire_resources([module]).routes) == 2
    finally:
        del CONVERTOR_TYPES["slug_for_resources"]


def reference_full_match(route: BaseRoute, path: str, method: str) -> bool:
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    return route.matches(scope)[0] is Match.FULL


TEMPLATE_SEGMENTS = ["a", "b", "0", "{x}", "{n:int}", "{f:float}", "{p:path}"]


def template(segments: list[str]) -> str:
    """The segments as a path template, each parameter renamed after its position."""
    return "/" + "/".join(
        segment.replace("{", f"{{s{index}_") for index, segment in enumerate(segments)
    )


LITERAL_SEGMENTS = ["a", "b", "0", "7", "1.5", ""]


@given(
    earlier=st.lists(st.sampled_from(TEMPLATE_SEGMENTS), min_size=1, max_size=3),
    later=st.lists(st.sampled_from(LITERAL_SEGMENTS), min_size=1, max_size=3),
)
def test_a_literal_route_is_refused_exactly_when_an_earlier_route_takes_its_path(
    earlier: list[str], later: list[str]
) -> None:
    earlier_path = template(earlier)
    later_path = "/" + "/".join(later)
    first = endpoint("First", earlier_path)
    second = endpoint("Second", later_path)
    module = module_of(first, second)
    expected = reference_full_match(Route(earlier_path, first, methods=["GET"]), later_path, "GET")
    if expected:
        with pytest.raises(RouteConflictError):
            wire_resources([module])
    else:
        assert len(wire_resources([module]).routes) == 2


# Compiling explicit routes


class Typed(HTTPEndpoint):
    async def get(self, limit: int = 10) -> list[int]:
        return list(range(limit))

    async def post(self, body: list[int]) -> int:
        return sum(body)


class Untyped(HTTPEndpoint):
    async def get(self, request: Request) -> Response:
        return PlainTextResponse("untyped")


class Socket(WebSocketEndpoint):
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: int) -> None:
        await websocket.send_json(data)


def test_bind_routes_walks_routes_and_mounts() -> None:
    async def home(request: Request) -> Response:
        return PlainTextResponse("home")

    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/typed", Typed, methods=["GET"]),
        Route("/hidden", Typed, include_in_schema=False),
        Mount(
            "/v1/{version}",
            routes=[Route("/untyped", Untyped), WebSocketRoute("/ws", Socket, name="socket")],
        ),
        Mount("/static", app=Router()),
        WebSocketRoute("/plain", home),
    ]
    wiring = bind_routes(routes)
    assert wiring.routes == ()
    assert [(plan.path, plan.method, plan.route_name) for plan in wiring.operations] == [
        ("/typed", "GET", "Typed"),
        ("/v1/{version}/untyped", "GET", "Untyped"),
    ]
    assert [(plan.path, plan.route_name) for plan in wiring.websockets] == [
        ("/v1/{version}/ws", "socket")
    ]
    # The hidden route's handlers are bound and typed, only left out of the document.
    assert (Typed, "POST") in wiring.json_errors
    assert not any(cls is Untyped for cls, _ in wiring.json_errors)
    # Each route serving an endpoint class is bound to the invokers planned for its path.
    home_route, typed, hidden, mounted = routes[:4]
    assert isinstance(home_route, Route)
    assert not isinstance(home_route.app, BoundHTTPEndpoint)
    for served in (typed, hidden):
        assert isinstance(served, Route)
        assert isinstance(served.app, BoundHTTPEndpoint)
        assert served.app.endpoint is Typed
    assert isinstance(mounted, Mount)
    untyped, socket = mounted.routes
    assert isinstance(untyped, Route)
    assert isinstance(untyped.app, BoundHTTPEndpoint)
    assert isinstance(socket, WebSocketRoute)
    assert isinstance(socket.app, BoundWebSocketEndpoint)
    assert socket.app.binding.plan.path == "/v1/{version}/ws"
