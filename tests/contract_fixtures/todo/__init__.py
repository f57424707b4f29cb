"""API.md §2's todo example as a package with a resources subpackage."""
