"""A lock on one output folder, so two runs finishing at once swap their results in turn.

The lock is ``.<name>.lock`` beside the folder, held with ``fcntl.flock`` and
holding the pid of its owner (for the message when it is busy).  It is deleted
on release; a waiter that acquires a lock file meanwhile deleted checks that
the path still names the file it locked, and tries again otherwise.  A killed
owner's ``flock`` is released by the kernel, so a stale lock file never
blocks.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from allocator.errors import AllocatorError

#: seconds a run waits for another run to finish writing the same folder
LOCK_WAIT_S = 60.0
_POLL_S = 0.05


def lock_path(target: Path) -> Path:
    """The lock file of output folder ``target``."""
    return target.with_name(f".{target.name}.lock")


@contextmanager
def folder_lock(target: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of ``target`` inside the block; an input error naming the holder's pid after ``wait_s``."""
    path = lock_path(target)
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if time.monotonic() >= deadline:
                raise AllocatorError(
                    f"another run (pid {holder}) is writing this output folder", file=target,
                    field="output.dir (or --out)",
                    fix=f"wait for process {holder} to finish, or write elsewhere with --out") from None
            time.sleep(_POLL_S)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)   # locked a file its previous owner had just deleted: try the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
