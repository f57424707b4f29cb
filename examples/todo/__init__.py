"""A todo app on SQLite: typed resources, a live WebSocket feed and an OpenAPI document.

Serve it with ``uvicorn examples.todo.app:app`` (the database file is ``$TODO_DB``, by default
``todo.sqlite3``).
"""
