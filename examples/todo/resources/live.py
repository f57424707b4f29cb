"""The live feed: a WebSocket that pushes every change to a todo to its subscribers."""

from __future__ import annotations

import anyio
import anyio.abc

from examples.todo.broadcast import Broadcaster, TooManySubscribers
from examples.todo.models import ClientMessage, ServerMessage
from examples.todo.state import AppState
from framework import Resource, WebSocket, WebSocketEndpoint, status
from framework.websockets import WebSocketDisconnect, WebSocketDisconnected

__all__ = ["TodoFeed"]

resource = Resource(prefix="/live", tags=["live"])


class TodoFeed(WebSocketEndpoint):
    """Send ``{"action": "subscribe"}`` to receive a ``TodoEvent`` for each change,
    ``{"action": "unsubscribe"}`` to stop, ``{"action": "ping"}`` for a ``pong``."""

    path = "/todos"
    encoding = "json"

    _tasks: anyio.abc.TaskGroup
    _subscription: anyio.CancelScope | None = None

    async def dispatch(self) -> None:
        # NOTE: events are pushed while the base class waits for client messages, so the
        # connection gets a task group for its forwarding task, cancelled when it ends.
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            await super().dispatch()
            tasks.cancel_scope.cancel()

    async def on_receive(self, websocket: WebSocket, data: ClientMessage, state: AppState) -> None:
        """Answer one client message."""
        if data.action == "ping":
            await self.send_model(websocket, ServerMessage("pong"))
        elif data.action == "subscribe":
            if self._subscription is None:
                try:
                    self._subscription = await self._tasks.start(
                        self._forward, websocket, state.broadcaster
                    )
                except TooManySubscribers:
                    await websocket.close(status.WS_1013_TRY_AGAIN_LATER, "too many subscribers")
                    return
            await self.send_model(websocket, ServerMessage("subscribed"))
        else:
            if self._subscription is not None:
                self._subscription.cancel()
                self._subscription = None
            await self.send_model(websocket, ServerMessage("unsubscribed"))

    async def _forward(
        self,
        websocket: WebSocket,
        broadcaster: Broadcaster,
        *,
        task_status: anyio.abc.TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send each published event to the client until cancelled or dropped as too slow."""
        with anyio.CancelScope() as scope, broadcaster.subscribe() as events:
            task_status.started(scope)
            try:
                async for event in events:
                    await self.send_model(websocket, event)
            except (WebSocketDisconnect, WebSocketDisconnected):
                # NOTE: the client has gone; the receiving loop sees the disconnect and ends.
                return
            if not scope.cancel_called:
                # The broadcaster ended the stream: this client could not keep up.
                await websocket.close(status.WS_1013_TRY_AGAIN_LATER, "too slow; reconnect")

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        """Stop forwarding: the subscription ends with the connection."""
        if self._subscription is not None:
            self._subscription.cancel()
