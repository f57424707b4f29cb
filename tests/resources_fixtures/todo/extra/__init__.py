"""A subpackage: scanned recursively."""
