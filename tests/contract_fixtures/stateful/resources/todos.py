"""The handler of API.md's lifespan example, as written."""

from framework import HTTPEndpoint
from tests.contract_fixtures.stateful.state import AppState, Todo


class TodoList(HTTPEndpoint):
    path = "/todos"

    async def get(self, state: AppState) -> list[Todo]:
        return await state.db.list_todos()
