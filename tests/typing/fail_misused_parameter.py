"""Parameters have the types their annotations give, inside the handler too."""

from __future__ import annotations

from typing import Annotated

from framework import Header, HTTPEndpoint, Request, WebSocket, WebSocketEndpoint


class TodoItem(HTTPEndpoint):
    path = "/todos/{todo_id:int}"

    async def get(
        self, todo_id: int, request: Request, x_trace: Annotated[str | None, Header()] = None
    ) -> str:
        label = todo_id.upper()  # E: attr-defined
        trace = x_trace.lower()  # E: union-attr
        body = await request.body()
        return body  # E: return-value


class Room(WebSocketEndpoint):
    path = "/ws/{room}"
    encoding = "json"

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        await websocket.send_text(close_code)  # E: arg-type
