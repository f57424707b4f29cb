"""API.md §2, as a user writes it: typed resources, a typed lifespan state, a typed WebSocket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import attrs
from annotated_types import Ge, Le

from framework import (
    App,
    BackgroundTasks,
    Header,
    HTTPEndpoint,
    HTTPException,
    Request,
    Resource,
    WebSocket,
    WebSocketEndpoint,
    raises,
    status_code,
)

resource = Resource(prefix="/todos", tags=["todos"])


@attrs.frozen
class NewTodo:
    title: str = attrs.field(validator=attrs.validators.max_len(200))
    done: bool = False


@attrs.frozen
class Todo:
    id: int
    title: str
    done: bool


class Database:
    """A stand-in for a real database handle."""

    def __init__(self) -> None:
        self.todos: dict[int, Todo] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, path: str) -> AsyncIterator[Database]:
        yield cls()

    async def list_todos(self) -> list[Todo]:
        return list(self.todos.values())


@attrs.define
class AppState:
    db: Database


@contextlib.asynccontextmanager
async def lifespan(app: App) -> AsyncIterator[AppState]:
    async with Database.connect("todo.sqlite3") as db:
        yield AppState(db=db)


class TodoList(HTTPEndpoint):
    path = ""

    async def get(
        self, state: AppState, limit: Annotated[int, Ge(1), Le(100)] = 50, offset: int = 0
    ) -> list[Todo]:
        todos = await state.db.list_todos()
        return todos[offset : offset + limit]

    @status_code(201)
    async def post(self, body: NewTodo, state: AppState, tasks: BackgroundTasks) -> Todo:
        todo = Todo(id=len(state.db.todos) + 1, title=body.title, done=body.done)
        state.db.todos[todo.id] = todo
        return todo


class TodoItem(HTTPEndpoint):
    path = "/{todo_id:int}"

    @raises(404)
    async def get(self, todo_id: int, x_trace: Annotated[str | None, Header()] = None) -> Todo:
        raise HTTPException(404, "todo not found")

    @raises(404)
    @status_code(204)
    async def delete(self, todo_id: int, request: Request) -> None:
        if todo_id < 0:
            raise HTTPException(404, f"no todo at {request.url.path}")


@attrs.frozen
class ChatMessage:
    user: str
    text: str


class Room(WebSocketEndpoint):
    path = "/ws/rooms/{room}"
    encoding = "json"

    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
        await websocket.send_json({"user": data.user, "text": data.text.upper()})

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        return None


app = App(resources=["tests.typing.pass_api_examples"], lifespan=lifespan)
app_with_modules = App(resources=[], openapi_url="/openapi.json", title="Todos", version="1.0")
document: dict[str, object] = app.openapi()

reveal_type(TodoList.post)  # R: def (self: tests.typing.pass_api_examples.TodoList, body: tests.typing.pass_api_examples.NewTodo, state: tests.typing.pass_api_examples.AppState, tasks: framework.background.BackgroundTasks) -> typing.Coroutine[Any, Any, tests.typing.pass_api_examples.Todo]
reveal_type(TodoItem.get)  # R: def (self: tests.typing.pass_api_examples.TodoItem, todo_id: int, x_trace: str | None =) -> typing.Coroutine[Any, Any, tests.typing.pass_api_examples.Todo]
reveal_type(resource.prefix)  # R: str
