"""The object store of distributed captures: where workers that share no folder with the sealing
process put their WARC files, and where the sealed manifest goes after them.

Layout under the store's root, the workspace's own: ``archive/NAME`` (each worker's finished WARC
file) and ``manifests/ID.sha256``, ``ID.sha256.sig``, ``ID.sha256[.N].tsr``, ``ID.yaml`` (a sealed
capture's seal files, the manifest last, so that a manifest in the store means its files are there).

An object appears whole or not at all: in a folder (a plain path or ``file://``) it is written as
``NAME.part``, fsynced and renamed; on S3 a PUT (or a multipart upload) is atomic. After writing, its
size is read back and compared. Objects are read by streaming, sha256 computed as bytes go by, with
the expected length as a bound. fsspec (and s3fs for ``s3://``) is imported only here, only when a
store is used. The errors: ``UsageError`` (exit 2) for a store that cannot be used at all (a bad URL,
a bucket that does not exist, the extra not installed), ``StoreError`` (exit 1) for an object that
could not be written or read mid-run."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..core.errors import ArchiverError, StoreError, UsageError
from ..core.store_url import StoreURL, parse_store_url
from ..core.workspace import fsync_dir

CHUNK = 1 << 20
NAME = re.compile(r"(archive|manifests)/[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


class Store:
    """A store at ``url``; ``name``s are workspace-relative paths (``archive/X.warc.gz``)."""

    chunk = CHUNK           # bytes per read

    def __init__(self, address: StoreURL) -> None:
        self.address = address
        self.url = address.url

    def check(self) -> None:
        raise NotImplementedError

    def put(self, local: Path, name: str) -> None:
        raise NotImplementedError

    def size(self, name: str) -> int | None:
        """The object's length, None when there is none."""
        raise NotImplementedError

    def reader(self, name: str) -> IO[bytes]:
        """The object opened for reading; FileNotFoundError when there is none."""
        raise NotImplementedError

    def where(self, name: str) -> str:
        return f"{self.url.rstrip('/')}/{name}"

    def digest(self, name: str, most: int, into: IO[bytes] | None = None) -> tuple[str, int] | None:
        """(sha256, length) of the object, reading at most ``most`` + 1 bytes (a longer object shows
        as longer), copied to ``into`` when given; None when there is no such object."""
        sha, length = hashlib.sha256(), 0
        try:
            with self._errors("read", name), self.reader(_checked(name)) as fh:
                while length <= most and (chunk := fh.read(min(self.chunk, most + 1 - length))):
                    sha.update(chunk)
                    length += len(chunk)
                    if into is not None:
                        into.write(chunk)
        except FileNotFoundError:
            return None
        return sha.hexdigest(), length

    @contextmanager
    def _errors(self, doing: str, name: str) -> Iterator[None]:
        """Whatever the backend raises as one line naming the object; reading, a missing object
        stays FileNotFoundError (the callers say what its absence means)."""
        try:
            yield
        except ArchiverError:
            raise
        except FileNotFoundError as exc:
            if doing == "read":
                raise
            raise StoreError(f"store: cannot {doing} {self.where(name)}: {_one_line(exc)}") from None
        except Exception as exc:        # botocore, aiohttp, OSError...
            raise StoreError(f"store: cannot {doing} {self.where(name)}: {_one_line(exc)}") from None


class FolderStore(Store):
    """A folder (a plain path, ``file://``): written through this module, fsynced, renamed."""

    def __init__(self, address: StoreURL) -> None:
        super().__init__(address)
        self.root = Path(address.root)

    def check(self) -> None:
        if not self.root.is_dir():
            if not self.root.parent.is_dir():
                raise UsageError(f"store {self.url}: no such folder (nor its parent {self.root.parent})")
            try:
                self.root.mkdir(exist_ok=True)
            except OSError as exc:
                raise UsageError(f"store {self.url}: cannot create the folder: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise UsageError(f"store {self.url}: the folder is not writable")

    def put(self, local: Path, name: str) -> None:
        final = self.root / _checked(name)
        part = final.with_name(f"{final.name}.{secrets.token_hex(4)}.part")
        with self._errors("write", name):
            final.parent.mkdir(exist_ok=True)          # archive/ or manifests/; the store itself must exist
            try:
                with open(local, "rb") as src, open(part, "xb") as out:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                if part.stat().st_size != local.stat().st_size:
                    raise StoreError(f"store: {self.where(name)}: {part.stat().st_size} bytes written, "
                                     f"{local.stat().st_size} expected")
                os.replace(part, final)
            finally:
                part.unlink(missing_ok=True)
            fsync_dir(final.parent)

    def size(self, name: str) -> int | None:
        path = self.root / _checked(name)
        return path.stat().st_size if path.is_file() else None

    def reader(self, name: str) -> IO[bytes]:
        return open(self.root / _checked(name), "rb")


class ObjectStore(Store):
    """An object store through fsspec (``s3://`` through s3fs); credentials from the environment."""

    chunk = 16 * CHUNK      # each read is one ranged GET: 1 MB reads ran at 14 MB/s
                            # against moto, 16 MB reads at 46 MB/s, as fast as its uploads (bench/store_copies.py)

    def __init__(self, address: StoreURL) -> None:
        super().__init__(address)
        fsspec = _fsspec(address)
        try:
            self.fs = fsspec.filesystem(address.protocol)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"store {self.url}: {_one_line(exc)}") from None
        self.bucket = address.root.split("/")[0]

    def check(self) -> None:
        try:
            found = self.fs.exists(self.bucket)
        except Exception as exc:        # no credentials, no answer: one line
            raise UsageError(f"store {self.url}: cannot reach the bucket {self.bucket!r}: {_one_line(exc)}") from None
        if not found:
            raise UsageError(f"store {self.url}: the bucket {self.bucket!r} does not exist (or these credentials "
                             "cannot see it)")

    def put(self, local: Path, name: str) -> None:
        key = self._key(name)
        with self._errors("write", name):
            self.fs.put_file(str(local), key)          # one PUT, or a multipart upload: whole or nothing
            self.fs.invalidate_cache(key)
            written = self.fs.info(key)["size"]
        if written != local.stat().st_size:
            raise StoreError(f"store: {self.where(name)} holds {written} bytes after the upload, "
                             f"{local.stat().st_size} were sent")

    def size(self, name: str) -> int | None:
        key = self._key(name)
        with self._errors("read", name):
            try:
                self.fs.invalidate_cache(key)
                return int(self.fs.info(key)["size"])
            except FileNotFoundError:
                return None

    def reader(self, name: str) -> IO[bytes]:
        self.fs.invalidate_cache(self._key(name))
        handle: IO[bytes] = self.fs.open(self._key(name), "rb", cache_type="none")
        return handle

    def _key(self, name: str) -> str:
        return f"{self.address.root}/{_checked(name)}"


def open_store(url: str) -> Store:
    """The store ``url`` names (not yet checked: ``check()`` asks it)."""
    address = parse_store_url(url)
    return FolderStore(address) if address.protocol == "file" else ObjectStore(address)


def _checked(name: str) -> str:
    if not NAME.fullmatch(name) or ".." in name:
        raise StoreError(f"store: {name[:200]!r} is not a name archiver keeps in a store")
    return name


def _fsspec(address: StoreURL) -> Any:
    try:
        fsspec = importlib.import_module("fsspec")
        if address.protocol == "s3":
            importlib.import_module("s3fs")
    except ImportError as exc:
        raise UsageError(f"store {address.url}: needs the s3 extra ({exc.name} is missing): "
                         "pip install 'archiver[distributed,s3]'") from None
    return fsspec


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
