"""API.md §2's typed WebSocket example, as written, with the ``...`` bodies filled in minimally."""

import attrs

from framework import WebSocket, WebSocketEndpoint

DISCONNECTS: list[int] = []


@attrs.frozen
class ChatMessage:
    user: str
    text: str = attrs.field(validator=attrs.validators.max_len(100))


class Room(WebSocketEndpoint):
    path = "/ws/rooms/{room}"
    encoding = "json"

    async def on_connect(self, websocket: WebSocket) -> None:
        await websocket.accept()

    async def on_receive(self, websocket: WebSocket, data: ChatMessage) -> None:
        assert isinstance(data, ChatMessage)
        room = websocket.path_params["room"]
        await websocket.send_json({"room": room, "user": data.user, "text": data.text})

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        DISCONNECTS.append(close_code)
