"""The one gate every input file passes: a regular file, under a size cap.

A FIFO blocks a reader forever, a symlink to ``/dev/zero`` reads until memory
runs out, a directory or a symlink loop fails deep inside a parser with an
unrelated message.  :func:`checked_file` turns all of these into an
:class:`~allocator.errors.AllocatorError` naming the file, before any reader
opens it; every reader (scenario YAML, CSV and vector layers, road networks,
travel-time matrices, rasters) calls it first, and a shapefile's parts
(``.dbf``, ``.shx``, ...) pass it with the ``.shp``.  Its first bytes must be of the
format its suffix names where GDAL reads it (:data:`MAGIC`), and no GDAL VRT
(XML that makes GDAL read other files or URLs).  A compressed file (``.gz``,
``.bz2``, ``.xz``, ``.zip``: every member) is also decompressed once, without
keeping the data, to check that it is complete and that its content is under
:func:`decoded_limit` (no decompression bomb); readers that decode blocks
themselves (GeoTIFF rasters) check what the file declares against the same limit.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from io import BufferedIOBase
from pathlib import Path
from typing import IO

from allocator.errors import AllocatorError

#: bytes a scenario YAML may have (real scenarios are a few kB)
MAX_SCENARIO_BYTES = 1 << 20
#: bytes a data file may have unless ``ALLOCATOR_MAX_FILE_MB`` says otherwise
MAX_DATA_BYTES = 4 << 30
MAX_FILE_ENV = "ALLOCATOR_MAX_FILE_MB"
#: the largest ``ALLOCATOR_MAX_FILE_MB`` accepted (1 TB: beyond it no run finishes on one machine)
MAX_FILE_MB_LIMIT = 1 << 20
#: how many times its size a file may decode to (real data compress a few tens of times; bombs, thousands)
MAX_EXPANSION = 200
#: bytes any file may decode to whatever its size (a small file of repetitive data may compress very well)
MIN_DECODED_BYTES = 64 << 20
#: members a ``.zip`` may hold (a zipped shapefile has a handful; thousands only slow the check down)
MAX_ZIP_MEMBERS = 1000
#: the decompressor of each compressed suffix (``.zip`` is read member by member)
_STREAMS: dict[str, Callable[[Path], BufferedIOBase]] = {".gz": gzip.GzipFile, ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}
_UNZIP_FIX = "if it is, decompress it and give the decompressed file"
_TIFF = ("GeoTIFF", (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"))
_GEOJSON = ("GeoJSON", (b"{", b"\x1e"))
#: the format and first bytes of each suffix GDAL reads (it opens a file by its content, whatever its name)
MAGIC: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".tif": _TIFF, ".tiff": _TIFF, ".gpkg": ("GeoPackage", (b"SQLite format 3\0",)),
    ".fgb": ("FlatGeobuf", (b"fgb\x03",)), ".shp": ("Shapefile", (b"\0\0\x27\x0a",)),
    ".geojson": _GEOJSON, ".json": _GEOJSON}
#: the root elements of GDAL's XML virtual formats, which read other files, URLs or run Python
VRT_ROOTS = (b"<VRTDataset", b"<OGRVRTDataSource")
#: bytes of a file's start read to check its format
HEAD_BYTES = 1024
#: the files GDAL opens next to a ``.shp`` (lower or upper case): each must pass the gate as the ``.shp`` does
SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def data_file_cap() -> int:
    """The size cap of data files in bytes: ``ALLOCATOR_MAX_FILE_MB`` megabytes, else :data:`MAX_DATA_BYTES`.

    A value that is not a number of megabytes above 0 and at most :data:`MAX_FILE_MB_LIMIT` is an error
    (``inf``, ``nan``, ``-1``, ``1e400``), not a silent default.
    """
    given = os.environ.get(MAX_FILE_ENV, "").strip()
    if not given:
        return MAX_DATA_BYTES
    try:
        megabytes = float(given)
    except ValueError:
        megabytes = math.nan
    if not 0 < megabytes <= MAX_FILE_MB_LIMIT:   # also false for nan
        raise AllocatorError(f"the environment variable {MAX_FILE_ENV}={given[:40]!r} is not a size in MB",
                             field=MAX_FILE_ENV,
                             fix=f"set {MAX_FILE_ENV} to a number of megabytes above 0 and at most "
                                 f"{MAX_FILE_MB_LIMIT:,} (e.g. {MAX_FILE_ENV}=8192), or unset it for "
                                 f"{MAX_DATA_BYTES >> 20:,} MB")
    return int(megabytes * (1 << 20))


def expand_home(path: str | Path, field: str) -> Path:
    """``path`` with a leading ``~`` or ``~user`` made the home folder, as a shell would; an unknown user is an
    input error naming ``field``."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:   # ~user of a user this machine does not have
        raise AllocatorError(f"cannot use the path {str(path)[:200]!r} ({exc})", field=field,
                             fix="write the folder out in full, or start it with ~/ for your home folder") from None


def megabytes(size: float) -> str:
    """``size`` bytes in MB for a message: whole megabytes, two digits below 1 MB."""
    mb = size / (1 << 20)
    return f"{mb:,.0f}" if mb >= 1 else f"{mb:.2g}"


def decoded_limit(size: int, cap: int | None = None) -> int:
    """The most bytes a file of ``size`` bytes may decode to: ``cap`` (default :func:`data_file_cap`),
    and :data:`MAX_EXPANSION` times its size once above :data:`MIN_DECODED_BYTES`."""
    return min(data_file_cap() if cap is None else cap, max(MAX_EXPANSION * size, MIN_DECODED_BYTES))


def decoded_size_error(path: Path, what: str, limit: int, field: str | None, *, fix: str) -> AllocatorError:
    """The error of a file whose content (``what``, e.g. "the file decompresses to") is above ``limit``.

    Says which bound it broke: the data cap (raised by ``ALLOCATOR_MAX_FILE_MB``)
    or the expansion bound (a decompression bomb, whatever the cap); ``fix`` is
    the reader's way out for the expansion bound.
    """
    size = path.stat().st_size
    if limit == max(MAX_EXPANSION * size, MIN_DECODED_BYTES):
        return AllocatorError(f"{what} more than {megabytes(limit)} MB, over {MAX_EXPANSION} times "
                              f"the file's {size:,} bytes (a decompression bomb?)", file=path, field=field,
                              fix=f"check that this is the right file; {fix}")
    return AllocatorError(f"{what} more than {megabytes(limit)} MB", file=path, field=field,
                          fix=f"check that this is the right file; for a larger data file set {MAX_FILE_ENV}")


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
            f"the file is {info.st_size / (1 << 20):,.1f} MB, above the {megabytes(cap)} MB limit",
            file=path, field=field,
            fix=f"check that this is the right file; for a larger data file set {MAX_FILE_ENV}"
                if max_bytes is None else "check that this is the right file (a scenario is a short YAML file)")
    try:
        with path.open("rb") as handle:
            _check_content(path.name, handle.read(HEAD_BYTES), path, field)
    except OSError as exc:
        raise AllocatorError(f"cannot read the file ({exc.strerror or exc})", file=path, field=field,
                             fix="check the file's permissions") from None
    suffix = path.suffix.lower()
    if suffix in _STREAMS or suffix == ".zip":
        _check_compressed(path, suffix, decoded_limit(info.st_size, cap), field)
    if suffix == ".shp":
        for part in SHAPEFILE_PARTS:
            for sibling in {path.with_suffix(part), path.with_suffix(part.upper())}:
                if sibling.exists():
                    checked_file(sibling, field=field, max_bytes=max_bytes)
    return path


def _check_content(name: str, head: bytes, path: Path, field: str | None) -> None:
    """``head``, the first bytes of the file (or zip member) ``name``, is no GDAL VRT and, for a suffix in
    :data:`MAGIC`, of that format: GDAL would otherwise open a renamed VRT and read the files or URLs it names."""
    where = "the file" if name == path.name else f"the file {name} in the zip file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and any(root in text for root in VRT_ROOTS):
        raise AllocatorError(f"{where} is a GDAL virtual dataset (VRT: XML naming other files or URLs), "
                             "which is never read", file=path, field=field,
                             fix="give the data file itself (e.g. gdal_translate or ogr2ogr the VRT into a GeoTIFF "
                                 "or GeoPackage)")
    suffix = Path(name).suffix.lower()
    if suffix in MAGIC and not text.startswith(MAGIC[suffix][1]):
        kind = MAGIC[suffix][0]
        raise AllocatorError(f"{where} is not a {kind} file (it begins with {head[:12]!r})", file=path, field=field,
                             fix=f"give a {kind} file: a file of another format renamed to {suffix} is not read")


def _check_compressed(path: Path, suffix: str, limit: int, field: str | None) -> None:
    """A compressed file must decompress completely to at most ``limit`` bytes (no decompression bomb)."""
    kind = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}[suffix]
    try:
        if suffix == ".zip":
            _check_zip(path, limit, field)
        else:
            with _STREAMS[suffix](path) as handle:
                _drain(handle, limit, path, field)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError) as exc:   # BadGzipFile is an OSError; an encrypted zip member is a RuntimeError
        raise AllocatorError(f"the file is not a complete {kind} file ({exc})", file=path, field=field,
                             fix="download or compress it again") from None


def _check_zip(path: Path, limit: int, field: str | None) -> None:
    """Every member of a ``.zip`` decompressed in turn, at most ``limit`` bytes in all, at most
    :data:`MAX_ZIP_MEMBERS` members (the declared sizes are checked first, then the real ones)."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise AllocatorError(f"the zip file holds {len(members):,} files, more than {MAX_ZIP_MEMBERS:,}",
                                 file=path, field=field,
                                 fix="zip only the layer's files (a zipped shapefile holds a handful)")
        if sum(member.file_size for member in members) > limit:
            raise decoded_size_error(path, "the zip file declares", limit, field, fix=_UNZIP_FIX)
        left = limit
        for member in members:
            with archive.open(member) as handle:
                head = handle.read(HEAD_BYTES)
                _check_content(member.filename, head, path, field)
                left -= len(head) + _drain(handle, left - len(head), path, field)


def _drain(handle: BufferedIOBase | IO[bytes], limit: int, path: Path, field: str | None) -> int:
    """The bytes ``handle`` gives, read to the end in chunks and dropped; an error past ``limit`` bytes."""
    total = 0
    while chunk := handle.read(1 << 20):
        total += len(chunk)
        if total > limit:
            raise decoded_size_error(path, "the file decompresses to", limit, field, fix=_UNZIP_FIX)
    return total


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
