"""A real local RFC 3161 timestamp authority for tests: a test CA made with ``openssl`` (a root, a
TSA certificate with the critical extended key usage timeStamping, and one whose timeStamping is not
critical), and ``openssl ts -reply`` behind a loopback HTTP server (POST application/timestamp-query
-> application/timestamp-reply).

Behaviours (``Authority(..., behaviour=...)``):
- ``good``: the reply openssl makes for the query.
- ``other-nonce``: a reply to another query over the same message (another nonce): a replayed or
  mixed-up answer.
- ``non-critical``: openssl refuses to sign with a certificate whose timeStamping is not critical,
  so the good reply's TSTInfo is signed again with ``openssl cms -sign`` by such a certificate.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"
MAX_QUERY = 64 * 1024

_EXTENSIONS = """\
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
[noncritical]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = timeStamping
"""

_TS_CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {serial}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str | Path, cwd: Path) -> bytes:
    proc = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


@dataclass(frozen=True)
class LocalCA:
    folder: Path

    @property
    def root(self) -> Path:
        return self.folder / "root.pem"

    @property
    def other_root(self) -> Path:
        return self.folder / "other-root.pem"

    def cert(self, name: str) -> Path:
        return self.folder / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.folder / f"{name}.key"


def make_ca(folder: Path) -> LocalCA:
    """A root, another unrelated root, a TSA certificate (critical timeStamping) and one with a
    non-critical timeStamping, all EC P-256, issued by the root."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ext.cnf").write_text(_EXTENSIONS)
    for name, subject in (("root", "/CN=Archiver Test Root"), ("other-root", "/CN=Some Other Root")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                f"{name}.key", "-out", f"{name}.pem", "-days", "3650", "-subj", subject, "-extensions", "root",
                "-config", _req_config(folder), cwd=folder)
    for name in ("tsa", "noncritical"):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/CN=Archiver Test TSA {name}", cwd=folder)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial",
                "7" if name == "tsa" else "8", "-out", f"{name}.pem", "-days", "3650", "-extfile", "ext.cnf",
                "-extensions", name, cwd=folder)
    (folder / "serial").write_text("01\n")
    (folder / "ts.cnf").write_text(_TS_CONFIG.format(serial=folder / "serial"))
    return LocalCA(folder)


def _req_config(folder: Path) -> Path:
    path = folder / "req.cnf"
    path.write_text("[req]\ndistinguished_name = dn\n[dn]\n" + _EXTENSIONS)
    return path


def der_sequence(body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x30" + length + body


class Authority:
    """``with Authority(ca, "127.0.0.x", port) as tsa: tsa.url``; serves until the block ends."""

    def __init__(self, ca: LocalCA, address: str, port: int = 0, behaviour: str = "good") -> None:
        self.ca, self.behaviour = ca, behaviour
        self.work = ca.folder / f"work-{address}-{behaviour}"
        self.work.mkdir(exist_ok=True)
        self.lock = threading.Lock()
        self.served = 0
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Content-Type") != "application/timestamp-query" or not 0 < length <= MAX_QUERY:
                    self.send_error(400, "expected an application/timestamp-query")
                    return
                with authority.lock:
                    reply = authority.reply(self.rfile.read(length))
                    authority.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer((address, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/tsr"

    def __enter__(self) -> Authority:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def reply(self, query: bytes) -> bytes:
        (self.work / "q.tsq").write_bytes(query)
        if self.behaviour == "other-nonce":
            digest = self._imprint(self.work / "q.tsq")
            openssl("ts", "-query", "-digest", digest, "-sha256", "-cert", "-out", "q.tsq", cwd=self.work)
        self._sign("q.tsq", "r.tsr", "tsa")
        if self.behaviour == "non-critical":
            return self._resign("r.tsr", "noncritical")
        return (self.work / "r.tsr").read_bytes()

    def _sign(self, query: str, out: str, signer: str) -> None:
        openssl("ts", "-reply", "-queryfile", query, "-config", self.ca.folder / "ts.cnf", "-signer",
                self.ca.cert(signer), "-inkey", self.ca.key(signer), "-out", out, cwd=self.work)

    def _imprint(self, query: Path) -> str:
        text = openssl("ts", "-query", "-in", query, "-text", cwd=self.work).decode()
        block = text.split("Message data:")[1].split("Policy OID")[0]
        # lines like '    0000 - 58 91 b5 b5 22 d5 df 08-6d 0f f0 b1 10 fb d9 d2   X..."...m.......'
        return "".join(pair for line in block.splitlines() if " - " in line
                       for pair in re.findall(r"[0-9a-f]{2}", line.split(" - ", 1)[1][:48]))

    def _resign(self, reply: str, signer: str) -> bytes:
        """The reply's TSTInfo, signed again by ``signer`` with openssl cms (no purpose check there)."""
        openssl("ts", "-reply", "-in", reply, "-token_out", "-out", "token.der", cwd=self.work)
        openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", "token.der", "-binary", "-out", "tst.der",
                cwd=self.work)
        openssl("cms", "-sign", "-binary", "-nodetach", "-in", "tst.der", "-econtent_type", TST_INFO_OID, "-signer",
                self.ca.cert(signer), "-inkey", self.ca.key(signer), "-md", "sha256", "-nosmimecap", "-outform",
                "DER", "-out", "token2.der", cwd=self.work)
        granted = b"\x30\x03\x02\x01\x00"
        return der_sequence(granted + (self.work / "token2.der").read_bytes())
