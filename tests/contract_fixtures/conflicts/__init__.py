"""Resource modules that collide, each an error at start-up naming both classes."""
