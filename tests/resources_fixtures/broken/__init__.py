"""A package whose module has a handler that cannot be served."""
