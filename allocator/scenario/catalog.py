"""The data catalog: where each public data set comes from, and finding it locally.

``data/catalog.yaml`` lists every data set by key (its path inside the mirror,
e.g. ``porto_alegre/poa_osm.pbf``) with its public URL, sha256, licence and
attribution.  :func:`resolve` turns a key into a local file:

1. the mirror folder named by ``ALLOCATOR_DATA_MIRROR`` (CI and the Makefile
   point it at ``../shared/data``), else
2. the user cache (``ALLOCATOR_CACHE``, default ``~/.cache/allocator``), under
   ``data/<key>``, downloading it there once when it is missing.

The sha256 is checked every time a file is first used in a process; a file
whose hash differs is an error, so a corrupt or substituted file is never used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml

from allocator.errors import AllocatorError

CATALOG_FILE = Path(__file__).resolve().parents[2] / "data" / "catalog.yaml"
MIRROR_ENV = "ALLOCATOR_DATA_MIRROR"
CACHE_ENV = "ALLOCATOR_CACHE"
PREFIX = "catalog:"


@dataclass(frozen=True)
class Dataset:
    """One catalog entry."""

    key: str
    description: str
    sha256: str
    url: str
    source: str
    licence: str
    attribution: str
    year: str = ""   # when the data describe (a census year, an extract's date); "" when the source does not say


@lru_cache(maxsize=1)
def load_catalog(path: Path = CATALOG_FILE) -> dict[str, Dataset]:
    """Read the catalog file into ``{key: Dataset}``."""
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return {key: Dataset(key=key, **entry) for key, entry in raw["datasets"].items()}


def cache_dir() -> Path:
    """The user cache folder (downloads, prepared networks)."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "allocator"))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_catalog_ref(text: str) -> bool:
    """True for strings of the form ``catalog:<key>``."""
    return isinstance(text, str) and text.startswith(PREFIX)


def resolve(key: str) -> Path:
    """Return a verified local path for catalog ``key`` (with or without ``catalog:``).

    Raises :class:`AllocatorError` for an unknown key, a hash mismatch, or a
    download that fails (for example on a machine without internet and with no
    mirror).
    """
    key = key.removeprefix(PREFIX)
    catalog = load_catalog()
    if key not in catalog:
        raise AllocatorError(
            f"unknown data set {key!r}",
            file=CATALOG_FILE,
            fix="use one of: " + ", ".join(sorted(catalog)),
        )
    entry = catalog[key]
    mirror = os.environ.get(MIRROR_ENV)
    if mirror and (Path(mirror) / key).is_file():
        return _verified(Path(mirror) / key, entry)
    cached = cache_dir() / "data" / key
    if not cached.is_file():
        _download(entry, cached, mirror)
    return _verified(cached, entry)


@cache
def _hash_of(path: Path, mtime_ns: int, size: int) -> str:
    """Hash memoised per (path, mtime, size) so repeated resolves stay cheap."""
    return sha256_file(path)


def _verified(path: Path, entry: Dataset) -> Path:
    stat = path.stat()
    actual = _hash_of(path.resolve(), stat.st_mtime_ns, stat.st_size)
    if actual != entry.sha256:
        raise AllocatorError(
            f"sha256 mismatch for {entry.key}: expected {entry.sha256}, found {actual}",
            file=path,
            fix=f"replace the file with the original from {entry.url} (source: {entry.source})",
        )
    return path


def _download(entry: Dataset, target: Path, mirror: str | None) -> None:
    """Download ``entry`` to ``target`` atomically (temp file, hash check, rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(entry.url, timeout=60) as resp:
            shutil.copyfileobj(resp, out)
        if sha256_file(tmp) != entry.sha256:
            raise AllocatorError(
                f"downloaded {entry.key} but its sha256 does not match the catalog",
                file=CATALOG_FILE,
                fix=f"check {entry.url}; the catalog expects sha256 {entry.sha256}",
            )
        tmp.replace(target)
    except OSError as exc:
        where = f"the mirror {mirror} has no {entry.key}" if mirror else f"{MIRROR_ENV} is not set"
        raise AllocatorError(
            f"cannot download {entry.key} from {entry.url} ({exc}); {where}",
            fix=f"set {MIRROR_ENV} to a folder holding {entry.key}, or connect to the internet",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
