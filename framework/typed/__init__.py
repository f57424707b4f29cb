"""The typed layer: handler signatures read into plans that drive parsing, validation, encoding
and the OpenAPI document (see ``plan`` for the contract every other module reads)."""
