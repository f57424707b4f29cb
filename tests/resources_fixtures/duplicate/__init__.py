"""Two modules serving GET /things: an error at start-up."""
