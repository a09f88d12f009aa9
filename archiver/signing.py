"""Ed25519 signatures over a capture's checksum list (the home of the ``cryptography`` library).

A signature is the raw 64 bytes of Ed25519 over the exact bytes of ``manifests/<id>.sha256``;
the public key is a PEM SubjectPublicKeyInfo file, so OpenSSL can check a signature without
archiver: ``openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in ID.sha256 -sigfile ID.sha256.sig``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import WorkspaceError


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new key pair; the private key file gets mode 0600. Refuses to overwrite."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for path in (private_path, public_path):
        if path.exists():
            raise WorkspaceError(f"{path} exists already; archiver never replaces a signing key", path=str(path))
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem)


def sign(private_path: Path, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise WorkspaceError(f"cannot read the signing key {private_path}: {exc}", path=str(private_path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise WorkspaceError(f"{private_path} is not an Ed25519 private key", path=str(private_path))
    return key.sign(data)


def load_public_key(path: Path) -> object:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"cannot read the public key {path}: {exc}", path=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise WorkspaceError(f"{path} is not an Ed25519 public key", path=str(path))
    return key


def signature_valid(public_key: object, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, data)  # type: ignore[attr-defined]
    except InvalidSignature:
        return False
    return True
