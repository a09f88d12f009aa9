"""Ed25519 signatures over a capture's checksum list (the home of the ``cryptography`` library).

A signature is the raw 64 bytes of Ed25519 over the exact bytes of ``manifests/<id>.sha256``;
the public key is a PEM SubjectPublicKeyInfo file, so OpenSSL can check a signature without
archiver: ``openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in ID.sha256 -sigfile ID.sha256.sig``.

A key's fingerprint is ``sha256:`` and the hex sha256 of its DER SubjectPublicKeyInfo, the same as
``openssl pkey -pubin -in KEY.pub.pem -outform DER | sha256sum``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..core.errors import WorkspaceError
from ..core.models import ServerCert


def new_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair: (private key PEM, PKCS#8; public key PEM, SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return private_pem, public_pem_of(key.public_key())


def public_pem_of(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def public_key_of_pem(pem: bytes) -> Any | None:
    """The Ed25519 public key of PEM text, or None when it is not one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def private_key_of_pem(pem: bytes) -> Any:
    """The Ed25519 private key of PEM text (one ``new_key_pair`` made)."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new key pair; the private key file gets mode 0600. Refuses to overwrite."""
    for path in (private_path, public_path):
        if path.exists():
            raise WorkspaceError(f"{path} exists already; archiver never replaces a signing key "
                                 "('archiver keygen --rotate' replaces it and keeps the old one)", path=str(path))
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_pem, public_pem = new_key_pair()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem)


def load_private_key(private_path: Path, public_path: Path | None = None) -> Any:
    """The Ed25519 private key; WorkspaceError when it cannot be read, is not Ed25519, or does not
    belong to the public key beside it. Called before a capture starts, so that a broken key is
    found before anything is fetched."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise WorkspaceError(f"cannot read the signing key {private_path}: {reason}", path=str(private_path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise WorkspaceError(f"{private_path} is not an Ed25519 private key", path=str(private_path))
    if public_path is not None and public_path.exists():
        if fingerprint(load_public_key(public_path)) != fingerprint(key.public_key()):
            raise WorkspaceError(f"the signing key {private_path} does not belong to the public key {public_path}",
                                 path=str(private_path))
    return key


def sign(private_path: Path, data: bytes) -> bytes:
    return bytes(load_private_key(private_path).sign(data))


def fingerprint(public_key: Any) -> str:
    """``sha256:<hex>`` of the key's DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise WorkspaceError(f"cannot read the public key {path}: {reason}", path=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise WorkspaceError(f"{path} is not an Ed25519 public key", path=str(path))
    return key


def is_canonical_pem(path: Path, public_key: Any) -> bool:
    """Whether the file holds exactly the PEM that ``keygen`` writes for this key: a file that loads
    as the same key but differs in a byte was altered by someone."""
    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return path.read_bytes() == pem
    except OSError:
        return False


def signature_valid(public_key: Any, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def describe_certificate(der: bytes) -> ServerCert:
    """Subject, issuer, validity and sha256 of a DER X.509 certificate (as a server presented it).
    A certificate that cannot be parsed keeps its sha256, and says so in place of its names."""
    from cryptography import x509

    digest = hashlib.sha256(der).hexdigest()
    try:
        cert = x509.load_der_x509_certificate(der)
        return ServerCert(_bounded(cert.subject.rfc4514_string()), _bounded(cert.issuer.rfc4514_string()),
                          cert.not_valid_before_utc.strftime(_UTC), cert.not_valid_after_utc.strftime(_UTC), digest)
    except ValueError as exc:
        why = _bounded(f"(not a parsable certificate: {' '.join(str(exc).split())})")
        return ServerCert(why, why, "", "", digest)


_UTC = "%Y-%m-%dT%H:%M:%SZ"
MAX_NAME = 1000          # characters of a subject or issuer kept: a server chooses them


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + "…"
