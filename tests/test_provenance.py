"""What the server proved about itself (issue #15): for every HTTPS origin of a capture the certificate
chain it presented, its protocol and cipher; for every origin the addresses its name resolved to and
the one connected to. Kept as WARC metadata records and summarised in the manifest, shown by
``archiver show``. A real TLS server on loopback with a test CA (root -> intermediate -> leaf) serves
leaf + intermediate; the chain recorded must be those two certificates, byte for byte."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from warc_reading import read_records

from archiver.capturing.run import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.fixity.manifest import read_manifest
from archiver.fixity.verify import verify

ARCHIVER = [sys.executable, "-m", "archiver"]
TLS_ADDRESS = "127.0.0.141"


@dataclass(frozen=True)
class CaFiles:
    root_pem: Path
    leaf_der: bytes
    intermediate_der: bytes
    root_der: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Archiver Tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
          ca: bool, serial: int) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(TLS_ADDRESS))]), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, CaFiles]]:
    """https://127.0.0.141:PORT/ serving a page and its image over TLS 1.2+, presenting leaf + intermediate."""
    folder = tmp_path_factory.mktemp("ca")
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert("Archiver Test Root", root_key, "Archiver Test Root", root_key, True, 1)
    mid = _cert("Archiver Test Intermediate", mid_key, "Archiver Test Root", root_key, True, 2)
    leaf = _cert(TLS_ADDRESS, leaf_key, "Archiver Test Intermediate", mid_key, False, 3)
    pem = serialization.Encoding.PEM
    (folder / "root.pem").write_bytes(root.public_bytes(pem))
    (folder / "chain.pem").write_bytes(leaf.public_bytes(pem) + mid.public_bytes(pem))
    (folder / "leaf.key").write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "chain.pem", folder / "leaf.key")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            pages = {"/": (b"<title>Tls</title><img src='/pic.png'><p>served over TLS</p>", "text/html"),
                     "/pic.png": (b"\x89PNG tls picture", "image/png")}
            body, kind = pages.get(self.path, (b"not here", "text/plain"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((TLS_ADDRESS, 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    der = serialization.Encoding.DER
    try:
        yield (f"https://{TLS_ADDRESS}:{server.server_address[1]}/",
               CaFiles(folder / "root.pem", leaf.public_bytes(der), mid.public_bytes(der), root.public_bytes(der)))
    finally:
        server.shutdown()
        server.server_close()


def _metadata_records(path: Path) -> list[tuple[dict[str, str], bytes]]:
    """(WARC headers, block) of every metadata record, read with warcio."""
    return [(r.headers, r.block) for r in read_records(path) if r.type == "metadata"]


def _pem_blocks(block: bytes) -> list[bytes]:
    found = re.findall(rb"-----BEGIN CERTIFICATE-----\n(.*?)\n-----END CERTIFICATE-----", block, re.S)
    import base64

    return [base64.b64decode(b"".join(body.split())) for body in found]


def test_the_chain_presented_is_recorded_byte_for_byte(tls_site: tuple[str, CaFiles], serve, workspace: Workspace,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca = tls_site
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.root_pem))     # the capture trusts the test root, as a system would
    plain = serve([Host("plain", "127.0.0.142", routes={
        "/": Response(200, [("Content-Type", "text/html")], f"<a href='{url}'>tls</a>".encode())})])
    result = capture([plain.url("plain", "/")], workspace, CaptureOptions(timeout=5, depth=1))
    assert result.ok and not result.failures, result.failures
    assert {r.url for r in result.resources} == {plain.url("plain", "/"), url, url + "pic.png", url + "robots.txt"}
    manifest = read_manifest(workspace.root / result.manifest_path)
    by_scheme = {s.scheme: s for s in manifest.servers}
    assert set(by_scheme) == {"http", "https"}
    tls = by_scheme["https"]
    assert tls.host == TLS_ADDRESS and tls.addresses == (TLS_ADDRESS,) and tls.connected == (TLS_ADDRESS,)
    assert tls.tls is not None and tls.tls.complete and tls.tls.version in ("TLSv1.2", "TLSv1.3") and tls.tls.cipher
    assert [c.sha256 for c in tls.tls.chain] == [hashlib.sha256(d).hexdigest() for d in (ca.leaf_der,
                                                                                         ca.intermediate_der)]
    assert tls.tls.chain[0].subject == f"CN={TLS_ADDRESS},O=Archiver Tests"
    assert tls.tls.chain[1].issuer == "CN=Archiver Test Root,O=Archiver Tests"
    assert by_scheme["http"].tls is None and by_scheme["http"].connected == ("127.0.0.142",)

    records = {h["WARC-Target-URI"]: (h, b) for h, b in _metadata_records(workspace.root / manifest.warc_files[0].path)}
    origin = url.rstrip("/")
    headers, block = records[origin]
    assert headers["Content-Type"] == "application/x-pem-file" and headers["WARC-Record-ID"] == tls.record_id
    assert _pem_blocks(block) == [ca.leaf_der, ca.intermediate_der]          # exactly what was served, in order
    first_tls_response = next(r for r in manifest.resources if r.url.startswith(origin))
    assert headers["WARC-Concurrent-To"] == first_tls_response.record_id
    assert f"tls-version: {tls.tls.version}".encode() in block and f"connected: {TLS_ADDRESS}".encode() in block
    plain_headers, plain_block = records[plain.origin("plain")]
    assert plain_headers["Content-Type"] == "application/warc-fields" and b"BEGIN" not in plain_block
    assert plain_headers["WARC-Concurrent-To"] == result.resources[0].record_id
    assert verify(workspace).ok
    # openssl reads the record's block as a PEM file (the text before the certificates is explanatory)
    (workspace.root / "block.pem").write_bytes(block)
    shown = subprocess.run(["openssl", "x509", "-in", "block.pem", "-noout", "-fingerprint", "-sha256"],
                           cwd=workspace.root, capture_output=True, text=True, check=True).stdout
    assert shown.split("=", 1)[1].strip().replace(":", "").lower() == hashlib.sha256(ca.leaf_der).hexdigest()


def test_the_addresses_a_name_resolved_to_are_recorded(serve, workspace: Workspace) -> None:
    import socket

    site = serve([Host("named", "127.0.0.1", routes={"/": Response(200, [("Content-Type", "text/plain")], b"x")})])
    port = site.origin("named").rsplit(":", 1)[1]
    result = capture([f"http://localhost:{port}/"], workspace, CaptureOptions(timeout=5, depth=0))
    resolved = tuple(dict.fromkeys(str(i[4][0]) for i in socket.getaddrinfo("localhost", int(port),
                                                                           type=socket.SOCK_STREAM)))
    (server,) = read_manifest(workspace.root / result.manifest_path).servers
    assert server.host == "localhost" and server.addresses == resolved
    assert result.ok and server.connected[0] == result.resources[0].remote_address == "127.0.0.1" or (
        not result.ok and server.connected == ())


def test_show_names_each_server_and_its_certificates(tls_site: tuple[str, CaFiles], workspace: Workspace) -> None:
    url, ca = tls_site
    env = {**os.environ, "SSL_CERT_FILE": str(ca.root_pem)}
    run = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "capture", "--depth", "0", "--json", url],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    capture_id = json.loads(run.stdout)["capture_id"]
    shown = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "show", capture_id], capture_output=True,
                           text=True, env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert f"{url.rstrip('/')}  resolved {TLS_ADDRESS}, connected {TLS_ADDRESS}" in shown.stdout
    assert hashlib.sha256(ca.intermediate_der).hexdigest() in shown.stdout
    assert f"CN={TLS_ADDRESS},O=Archiver Tests, issued by CN=Archiver Test Intermediate" in shown.stdout
    data = json.loads(subprocess.run([*ARCHIVER, "-w", str(workspace.root), "show", capture_id, "--json"],
                                     capture_output=True, text=True, env=env, timeout=60).stdout)
    (server,) = data["provenance"]["servers"]
    assert [c["sha256"] for c in server["tls"]["chain"]] == [hashlib.sha256(ca.leaf_der).hexdigest(),
                                                             hashlib.sha256(ca.intermediate_der).hexdigest()]
    assert yaml.safe_load((workspace.root / "manifests" / f"{capture_id}.yaml").read_text())["servers"][0]["port"] \
        == int(url.rsplit(":", 1)[1].rstrip("/"))
    # the package README a recipient reads first names them too
    bag = workspace.root.parent / "bag"
    exported = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "export", "bag", capture_id, "-o", str(bag)],
                              capture_output=True, text=True, env=env, timeout=120)
    assert exported.returncode == 0, exported.stderr
    provenance = next(bag.rglob("provenance.txt")).read_text()
    assert f"https://{TLS_ADDRESS}:" in provenance and f"resolved to {TLS_ADDRESS}" in provenance
    assert hashlib.sha256(ca.leaf_der).hexdigest() in provenance and server["tls"]["version"] in provenance


def test_a_hostile_servers_field_is_refused_naming_it(workspace: Workspace, tmp_path: Path) -> None:
    from archiver.core.errors import ManifestError
    from archiver.fixity.manifest import manifest_of

    base = {"format": "archiver-manifest", "format_version": 2, "capture_id": "20990101T000000Z-000000",
            "sequence": 1, "previous": None, "seeds": [], "started": "x", "ended": "x", "software": {},
            "settings": {}, "warc_files": [], "resources": [], "failures": [], "skipped": []}
    good = {"host": "h", "port": 443, "scheme": "https", "addresses": ["1.2.3.4"], "connected": []}
    assert manifest_of({**base, "servers": [good]}).servers[0].port == 443
    for bad, says in [({**good, "port": 70000}, "servers[0].port"), ({**good, "scheme": "ftp"}, "servers[0].scheme"),
                      ({**good, "addresses": ["x"] * 300}, "servers[0].addresses"),
                      ({**good, "tls": {"version": "v", "cipher": "c", "chain": [{"sha256": "no"}]}},
                       "servers[0].tls.chain[0]"), ("text", "servers[0] is not a mapping")]:
        with pytest.raises(ManifestError, match=re.escape(says)):
            manifest_of({**base, "servers": [bad]})
