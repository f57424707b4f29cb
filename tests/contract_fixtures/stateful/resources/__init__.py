"""Resources of the stateful example."""
