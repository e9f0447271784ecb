"""The scenario file: its schema, its loader (with line numbers) and the data catalog."""
