"""The address of an object store for distributed captures (``--store``, ``store:`` in archiver.yaml),
checked as text, with nothing imported: ``s3://BUCKET[/PREFIX]``, ``file:///PATH`` or a plain path.
It travels to the workers in the capture's spec, so it never carries credentials: those come from
each machine's own environment (``AWS_*`` variables, fsspec's configuration)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import UsageError

MAX_STORE_URL = 1024
OBJECT_STORES = ("s3",)         # through fsspec (s3fs); a plain path or file:// needs neither
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")     # S3's rules for bucket names
_PREFIX_PART = re.compile(r"[A-Za-z0-9._~+=-]+")


@dataclass(frozen=True, slots=True)
class StoreURL:
    url: str            # as given, checked
    protocol: str       # "file" or one of OBJECT_STORES
    root: str           # the folder's absolute path, or "BUCKET/PREFIX" without slashes at either end


def check_store_url(text: str) -> str:
    """``text`` if it names a store this archiver can use, else UsageError naming what is wrong."""
    return parse_store_url(text).url


def parse_store_url(text: str) -> StoreURL:
    if not isinstance(text, str) or not text.strip():
        raise UsageError("the store URL is empty: expected s3://BUCKET/PREFIX, file:///PATH or a folder's path")
    if len(text) > MAX_STORE_URL or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise UsageError(f"store {text[:80]!r}: longer than {MAX_STORE_URL} characters or holds control characters")
    if "://" not in text:
        if not text.startswith("/"):
            raise UsageError(f"store {text!r}: a folder's path must be absolute (workers read it as it is)")
        return StoreURL(text, "file", text.rstrip("/") or "/")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment or not parts.path.startswith("/"):
            raise UsageError(f"store {text!r}: expected file:///ABSOLUTE/PATH")
        return StoreURL(text, "file", parts.path.rstrip("/") or "/")
    if scheme not in OBJECT_STORES:
        raise UsageError(f"store {text!r}: the scheme {scheme + '://'!r} is not supported; expected s3://BUCKET/PREFIX, "
                         "file:///PATH or a folder's path")
    if "@" in parts.netloc or parts.password is not None:
        raise UsageError(f"store {text.split('://')[0]}://...: credentials do not belong in the store URL (it is sent "
                         "to every worker through the queue); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY on each "
                         "machine instead")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise UsageError(f"store {text!r}: no query (?) or fragment (#); options come from the environment")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"store {text!r}: {bucket!r} is not a bucket name (3-63 lowercase letters, digits, '.' or '-')")
    prefix = [p for p in parts.path.split("/") if p]
    for part in prefix:
        if part in (".", "..") or not _PREFIX_PART.fullmatch(part):
            raise UsageError(f"store {text!r}: the prefix part {part!r} is not letters, digits, '.', '_', '~', '+', "
                             "'=' or '-'")
    return StoreURL(text, scheme, "/".join([bucket, *prefix]))
