"""The proof an export package carries beside the captures' own seal files, so that a recipient can
check it with nothing but the package (``archiver verify PACKAGE``, or docs/evidence.md's commands):

- ``chain.yaml``: the segment file (``fixity.segment``): which captures the package holds, each
  manifest's sha256, the links that point out of the package and the head;
- ``chain.yaml.sig``: when the exporting workspace has a signing key, the Ed25519 signature of
  ``chain.yaml``'s bytes (so that dropping a capture from the package shows);
- ``<fingerprint hex>.pub.pem``: the public key of every key that signed a capture held, and the
  exporter's;
- ``provenance.txt``: who, what, when, with what, and how to check, for people.

The files sit beside the manifests in the package: ``data/`` of a bag, ``archiver/`` of a WACZ.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..core import yamlemit
from ..core.models import Manifest
from ..core.settings import Settings
from ..core.workspace import KEYS_DIR, Workspace
from ..fixity.chain import link_of
from ..fixity.seal import signing_key
from ..fixity.segment import key_file_name, segment_document
from ..fixity.signing import fingerprint, load_public_key
from .bag_export import Contents

SEGMENT_FILE = "chain.yaml"
SEGMENT_SIGNATURE = "chain.yaml.sig"
PROVENANCE_FILE = "provenance.txt"


@dataclass(frozen=True, slots=True)
class Proof:
    files: dict[str, bytes]            # file name -> bytes, written beside the manifests


def package_proof(workspace: Workspace, contents: Contents, settings: Settings, now: datetime) -> Proof:
    """Everything of the module docstring for the captures of ``contents``."""
    manifests = {**contents.holders, **contents.manifests}
    digests = {cid: hashlib.sha256(workspace.manifest_path(cid).read_bytes()).hexdigest() for cid in manifests}
    private = signing_key(workspace, settings.witness_file)
    exporter = fingerprint(private.public_key()) if private is not None else None
    signers = {m.signing_key for m in manifests.values() if m.signing_key}
    keys = public_keys(workspace, signers | ({exporter} if exporter else set()))
    document = segment_document([link_of(cid, digests[cid], m) for cid, m in manifests.items()],
                                set(contents.capture_ids), {fp: key_file_name(fp) for fp in keys if fp in signers})
    if exporter is not None:
        document["signed_by"] = exporter
    segment = yamlemit.dump(document).encode("utf-8")
    files = {SEGMENT_FILE: segment, **{key_file_name(fp): pem for fp, pem in keys.items()}}
    if private is not None:
        files[SEGMENT_SIGNATURE] = bytes(private.sign(segment))
    files[PROVENANCE_FILE] = provenance_text(contents, digests, keys, exporter, now).encode("utf-8")
    return Proof(files)


def public_keys(workspace: Workspace, fingerprints: set[str]) -> dict[str, bytes]:
    """fingerprint -> PEM of each public key under ``keys/`` (any depth) whose fingerprint is asked for."""
    found: dict[str, bytes] = {}
    folder = workspace.root / KEYS_DIR
    for path in sorted(folder.rglob("*.pub.pem")) if folder.is_dir() else []:
        try:
            fp = fingerprint(load_public_key(path))
        except Exception:  # noqa: BLE001 - an unreadable key file is not one of the keys asked for
            continue
        if fp in fingerprints and fp not in found:
            found[fp] = path.read_bytes()
    return found


def provenance_text(contents: Contents, digests: dict[str, str], keys: dict[str, bytes], exporter: str | None,
                    now: datetime) -> str:
    """provenance.txt: a page a person reads before anything else in the package."""
    chosen = [contents.manifests[cid] for cid in contents.capture_ids]
    lines = [f"archiver package of {len(chosen)} capture{'s' if len(chosen) != 1 else ''}, exported "
             f"{now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by archiver {__version__}", ""]
    for m in chosen:
        lines += _capture_lines(m, digests[m.capture_id])
    if contents.holders:
        lines += ["Also held, because their WARC files hold the originals of revisit records above:",
                  *(f"  capture {cid}, manifest sha256 {digests[cid]}" for cid in sorted(contents.holders)), ""]
    lines += ["Signed by", *(f"  {fp}  (public key: {key_file_name(fp)})" for fp in sorted(keys))]
    if not keys:
        lines.append("  nobody: the captures are not signed; only their checksums can be checked")
    if exporter:
        lines.append(f"  the segment file chain.yaml is signed by the exporter's key {exporter} (chain.yaml.sig)")
    lines += ["", "How to check", "  archiver verify PACKAGE                      (add --trusted-key KEY.pub.pem: a key "
              "you got from its owner)",
              "  without archiver: docs/evidence.md of archiver; in short, in the folder of the manifests:",
              "    sha256sum -c <capture-id>.sha256           (run from the package root: paths are archive/..., manifests/...)",
              "    openssl pkeyutl -verify -pubin -inkey <fingerprint>.pub.pem -rawin -in <capture-id>.sha256 "
              "-sigfile <capture-id>.sha256.sig",
              "    openssl ts -verify -data <capture-id>.sha256 -in <capture-id>.sha256.tsr -CAfile ROOT.pem "
              "(when tokens are present)", ""]
    return "\n".join(lines)


def _capture_lines(m: Manifest, digest: str) -> list[str]:
    operator: dict[str, Any] = m.operator or {}
    who = " ".join(str(v) for v in (operator.get("name"), operator.get("contact") and f"<{operator['contact']}>") if v)
    software = ", ".join(f"{k} {v}" for k, v in sorted((m.software or {}).items()))
    pages = sum(1 for r in m.resources if r.role in ("seed", "source"))
    lines = [f"Capture {m.capture_id} (sequence {m.sequence}, manifest sha256 {digest})",
             f"  who        {who or 'not recorded'}" + (f", on host {m.host}" if m.host else ""),
             f"  what       {', '.join(m.seeds) or 'no seeds'}: {len(m.resources)} resources ({pages} pages), "
             f"{len(m.warc_files)} WARC file(s), {m.warc_bytes} bytes; {len(m.failures)} failed, "
             f"{len(m.skipped)} skipped",
             f"  when       {m.started} to {m.ended} (the capturing machine's clock)",
             f"  with what  {software or 'not recorded'}"]
    if m.imported_from:
        lines.append(f"  imported   from {m.imported_from.get('file', 'a file')} "
                     f"(sha256 {m.imported_from.get('sha256', '?')})")
    return [*lines, *_server_lines(m), ""]


def _server_lines(m: Manifest) -> list[str]:
    """What each server proved about itself: the addresses its name resolved to and, over HTTPS, the
    protocol, cipher and the certificates it presented (their WARC metadata records hold them whole)."""
    if not m.servers:
        return []
    lines = ["  servers    (each one's WARC metadata record holds the whole answer; docs/warc.md)"]
    for server in m.servers:
        where = f"{server.scheme}://{server.host}:{server.port}"
        lines.append(f"    {where}  resolved to {', '.join(server.addresses) or 'nothing recorded'}; "
                     f"connected to {', '.join(server.connected) or 'none'}")
        if server.tls is not None:
            lines.append(f"      {server.tls.version}, {server.tls.cipher}"
                         + ("" if server.tls.complete else " (only the leaf certificate could be read)"))
            lines += [f"      certificate {c.subject}, issued by {c.issuer}, valid {c.not_before} to {c.not_after}, "
                      f"sha256 {c.sha256}" for c in server.tls.chain]
    return lines
