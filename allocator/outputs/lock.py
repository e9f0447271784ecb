"""A lock on one output folder, so two runs finishing at once swap their results in turn.

The lock is ``.<name>.lock`` beside the folder, held with ``fcntl.flock`` and
holding the pid of its owner (for the message when it is busy).  It is deleted
on release; a waiter that acquires a lock file meanwhile deleted checks that
the path still names the file it locked, and tries again otherwise.  A killed
owner's ``flock`` is released by the kernel, so a stale lock file never
blocks.  Only allocator's own lock file is used (and deleted): a symlink,
anything but a regular file, or a file holding more than a pid at that name is
an input error, and is left as it is.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from allocator.errors import AllocatorError

#: seconds a run waits for another run to finish writing the same folder
LOCK_WAIT_S = 60.0
_POLL_S = 0.05
#: the most a lock file holds (a pid)
_MAX_LOCK_BYTES = 32


def lock_path(target: Path) -> Path:
    """The lock file of output folder ``target``."""
    return target.with_name(f".{target.name}.lock")


@contextmanager
def folder_lock(target: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of ``target`` inside the block; an input error naming the holder's pid after ``wait_s``."""
    path = lock_path(target)
    deadline = time.monotonic() + wait_s
    while True:
        fd = _open(path, target)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, _MAX_LOCK_BYTES).decode(errors="replace").strip() or "unknown"
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
    size = os.fstat(fd).st_size
    if size and not (size <= _MAX_LOCK_BYTES and os.pread(fd, size, 0).strip().isdigit()):
        os.close(fd)
        raise _not_a_lock(path, target, "a file allocator did not write")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _open(path: Path, target: Path) -> int:
    """Open (or create) the lock file ``path`` of ``target`` without following a symlink; it must be a file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR):
            raise _not_a_lock(path, target, "a symlink" if exc.errno == errno.ELOOP else "not a file") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_a_lock(path, target, "not a file")
    return fd


def _not_a_lock(path: Path, target: Path, what: str) -> AllocatorError:
    """The input error for something other than allocator's lock file where the lock of ``target`` goes."""
    return AllocatorError(f"{path.name} beside it is {what}, where allocator keeps the folder's lock; it was left as "
                          "it is and nothing was changed", file=target, field="output.dir (or --out)",
                          fix=f"move {path} away, or choose another --out or output.dir")
