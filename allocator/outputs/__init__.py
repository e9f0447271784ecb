"""What a run writes: summary.json, tables, GeoJSON, the map and the report."""
