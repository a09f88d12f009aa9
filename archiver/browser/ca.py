"""A certificate authority made for one capture, so the recording proxy can read the browser's HTTPS.

The CA exists only in memory and in the capture's scratch folder; it is never installed anywhere.
The browser it serves is told to accept it by the sha256 of its public key
(``--ignore-certificate-errors-spki-list``), which Chromium honours for that process alone. Leaf
certificates are made per host on demand and kept for the capture.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = timedelta(days=2)
MAX_HOSTS = 10_000            # leaf certificates one capture makes at most


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "archiver capture proxy")])


def _spki(cert: x509.Certificate) -> str:
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


class CaptureCA:
    """The CA of one capture; ``context_for(host)`` gives a server-side TLS context for a host.

    Chromium checks the SPKI pin against every certificate of the chain, so the leaves share the
    CA's key pair: one pin covers them all, and making a leaf costs one signature, no key generation."""

    def __init__(self, folder: Path, now: datetime | None = None) -> None:
        self.folder = folder
        self.now = now or datetime.now(UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = _name("archiver capture CA")
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(self.now - timedelta(hours=1)).not_valid_after(self.now + _VALID)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.spki = _spki(self.cert)
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        folder.mkdir(parents=True, exist_ok=True)
        self._key_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())

    def context_for(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for ``host`` signed by this CA."""
        with self._lock:
            context = self._contexts.get(host)
            if context is None:
                if len(self._contexts) >= MAX_HOSTS:
                    raise ValueError(f"more than {MAX_HOSTS} HTTPS hosts in one capture")
                context = self._make(host)
                self._contexts[host] = context
            return context

    def _make(self, host: str) -> ssl.SSLContext:
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            alt = x509.DNSName(host)
        leaf = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(self.cert.subject)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(self.now - timedelta(hours=1)).not_valid_after(self.now + _VALID)
                .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, hashes.SHA256()))
        # the ssl module loads certificates from files only: written to the capture's scratch folder
        path = self.folder / f"leaf-{len(self._contexts)}.pem"
        path.write_bytes(self._key_pem + leaf.public_bytes(serialization.Encoding.PEM)
                         + self.cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
        context.set_alpn_protocols(["http/1.1"])
        return context
