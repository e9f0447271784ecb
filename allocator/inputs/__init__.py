"""Inputs of a run: demand layers, existing facilities and candidate sites, districts."""
