"""API.md §2's typed lifespan state example: an app whose lifespan yields ``AppState``."""
