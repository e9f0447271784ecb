"""The scenario file: its schema, its loader (with line numbers) and the data catalog."""

from allocator.scenario import schema  # noqa: F401  (first, so the counters section can inherit its base)
