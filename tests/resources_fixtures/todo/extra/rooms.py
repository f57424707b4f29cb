"""A typed WebSocket endpoint, and a second class sharing a path with another method."""

from __future__ import annotations

import attrs

from framework import HTTPEndpoint, Resource, WebSocket, WebSocketEndpoint

resource = Resource(tags=["rooms"])


@attrs.frozen
class ChatMessage:
    text: str


class Room(WebSocketEndpoint):
    path = "/ws/rooms/{room}"
    encoding = "json"

    async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
        await websocket.send_json({"room": websocket.path_params["room"], "text": data.text})


class RoomReader(HTTPEndpoint):
    path = "/rooms/{room}"

    async def get(self, room: str) -> str:
        return room


class RoomWriter(HTTPEndpoint):
    path = "/rooms/{room}"

    async def put(self, room: str, body: ChatMessage) -> str:
        return f"{room}: {body.text}"
