"""The one gate every input file passes: a regular file, under a size cap.

A FIFO blocks a reader forever, a symlink to ``/dev/zero`` reads until memory
runs out, a directory or a symlink loop fails deep inside a parser with an
unrelated message.  :func:`checked_file` turns all of these into an
:class:`~allocator.errors.AllocatorError` naming the file, before any reader
opens it; every reader (scenario YAML, CSV and vector layers, road networks,
travel-time matrices, rasters) calls it first.  A ``.gz`` file is also
decompressed once, without keeping the data, to check that it is complete
and that its content is under the same cap (no decompression bomb).
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from pathlib import Path

from allocator.errors import AllocatorError

#: bytes a scenario YAML may have (real scenarios are a few kB)
MAX_SCENARIO_BYTES = 1 << 20
#: bytes a data file may have unless ``ALLOCATOR_MAX_FILE_MB`` says otherwise
MAX_DATA_BYTES = 4 << 30
MAX_FILE_ENV = "ALLOCATOR_MAX_FILE_MB"


def data_file_cap() -> int:
    """The size cap of data files in bytes: ``ALLOCATOR_MAX_FILE_MB`` megabytes, else :data:`MAX_DATA_BYTES`."""
    given = os.environ.get(MAX_FILE_ENV, "").strip()
    try:
        megabytes = float(given) if given else 0.0
    except ValueError:
        megabytes = 0.0
    return int(megabytes * (1 << 20)) if megabytes > 0 and megabytes == megabytes else MAX_DATA_BYTES


def checked_file(path: str | Path, *, field: str | None = None, max_bytes: int | None = None) -> Path:
    """``path`` if it is a regular file (symlinks followed) of at most ``max_bytes``, else an error.

    ``field`` names the scenario field that gave the path; ``max_bytes``
    defaults to :func:`data_file_cap`.  Only ``stat`` is called, so a FIFO or
    a device is never opened.
    """
    path = Path(path)
    cap = data_file_cap() if max_bytes is None else max_bytes
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AllocatorError("file not found", file=path, field=field,
                             fix="check the path (relative paths start at the scenario file's folder)") from None
    except OSError as exc:   # ELOOP (a symlink loop), EACCES, ENAMETOOLONG, ...
        raise AllocatorError(f"cannot open the file ({exc.strerror or exc})", file=path, field=field,
                             fix="give a path to a readable regular file (not a symlink loop)") from None
    if not stat.S_ISREG(info.st_mode):
        raise AllocatorError(f"not a regular file (a {_kind(info.st_mode)})", file=path, field=field,
                             fix="give a path to a data file; pipes, devices and folders are not read")
    if info.st_size > cap:
        raise AllocatorError(
            f"the file is {info.st_size / (1 << 20):,.1f} MB, above the {cap / (1 << 20):,.0f} MB limit",
            file=path, field=field,
            fix=f"check that this is the right file; for a larger data file set {MAX_FILE_ENV}"
                if max_bytes is None else "check that this is the right file (a scenario is a short YAML file)")
    if path.name.lower().endswith(".gz"):
        _check_gzip(path, cap, field)
    return path


def _check_gzip(path: Path, cap: int, field: str | None) -> None:
    """A ``.gz`` file must decompress completely to at most ``cap`` bytes (no decompression bomb)."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
                if total > cap:
                    raise AllocatorError(
                        f"the file decompresses to more than {cap / (1 << 20):,.0f} MB", file=path, field=field,
                        fix=f"check that this is the right file; for a larger data file set {MAX_FILE_ENV}")
    except (OSError, EOFError, zlib.error) as exc:   # BadGzipFile is an OSError
        raise AllocatorError(f"the file is not a complete gzip file ({exc})", file=path, field=field,
                             fix="download or compress it again") from None


def read_text(path: str | Path, *, field: str | None = None, max_bytes: int = MAX_SCENARIO_BYTES) -> str:
    """The UTF-8 text of a checked file (see :func:`checked_file`), read at most ``max_bytes`` bytes."""
    path = checked_file(path, field=field, max_bytes=max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise AllocatorError(f"cannot read the file ({exc.strerror or exc})", file=path, field=field,
                             fix="check the file's permissions") from None
    if len(data) > max_bytes:
        raise AllocatorError(f"the file grew above the {max_bytes / (1 << 20):,.0f} MB limit while being read",
                             file=path, field=field, fix="check that this is the right file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AllocatorError(f"the file is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})",
                             file=path, line=line, field=field,
                             fix="save the file as UTF-8 (in most editors: Save as... > Encoding UTF-8)") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"
