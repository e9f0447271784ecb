"""What every Dask worker does when it starts (a worker plugin, registered by :func:`allocator.scale.cluster.open_client`).

Apart from :mod:`allocator.scale.cluster` so that importing it (every run of
the command line does) does not import ``distributed``.
"""

from __future__ import annotations

from distributed import WorkerPlugin


class QuietHighs(WorkerPlugin):
    """Print HiGHS's banner into /dev/null once per worker, before it solves (:func:`allocator.solve.highs.quiet_highs`).

    It runs on every worker as it starts, restarted ones included.
    """

    name = "allocator-quiet-highs"

    def setup(self, worker) -> None:
        from allocator.solve.highs import quiet_highs

        quiet_highs()
