"""Many solves at once on dask.distributed: the cluster, sweeps and batches of scenarios."""
