"""``archiver keygen``: make the workspace's signing key, attest the captures sealed before it,
rotate it (fixity.key_history)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import UsageError
from ..core.workspace import Workspace
from .commands import _witness_file, existing_workspace

EPILOG_KEYGEN = """example:
  archiver keygen && archiver capture https://example.org/a    # the capture is signed
  archiver keygen --attest        # on a workspace with captures: the new key attests them (a terminal asks)
  archiver keygen --attest        # with a key already: a new dated attestation of the chain head
  archiver keygen --rotate        # a new key, the old one kept; both sign the change"""


def add_keygen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attest", action=argparse.BooleanOptionalAction, default=None,
                   help="attest the captures sealed so far with the key: a new signed statement of the chain "
                        "head, never a rewrite (default: ask on a terminal, else no)")
    p.add_argument("--rotate", action="store_true",
                   help="replace the workspace's key by a new one: the old key kept as keys/<fingerprint>.pem, "
                        "a statement of the change signed by both keys, the new key pinned")


def cmd_keygen(args: argparse.Namespace) -> int:
    ws: Workspace = existing_workspace(args).ensure()      # a key for a workspace, never one made by a typo in -w
    witness_file = _witness_file(ws.root)
    if args.rotate:
        if args.attest is False:
            raise UsageError("--rotate attests the chain head in its statement: leave out --no-attest")
        return _rotate(ws, witness_file)
    if args.attest and (ws.private_key_path.exists() or ws.public_key_path.exists()):
        return _attest(ws, witness_file, "")
    return _new_key(ws, witness_file, args.attest)


def _new_key(w: Workspace, witness_file: Path | None, attest: bool | None) -> int:
    from ..fixity.seal import find_head
    from ..fixity.signing import fingerprint, generate_key_pair, load_public_key
    from ..fixity.witness import record_key, witness_paths

    generate_key_pair(w.private_key_path, w.public_key_path)
    key = fingerprint(load_public_key(w.public_key_path))
    problems = record_key(witness_paths(w.root, witness_file), w.root, key)
    print(f"private key  {w.relative(w.private_key_path)} (mode 0600: keep it secret, do not publish it)")
    print(f"public key   {w.relative(w.public_key_path)} (give this to whoever checks your captures)")
    print(f"fingerprint  {key} (pinned for this workspace; publish it with the public key)")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    head = find_head(w)
    if head is None:
        return 0
    before = f"the {head.sequence} capture(s) sealed before this key"
    if attest is None and sys.stdin.isatty():
        answer = input(f"Attest {before} with it (a new signed statement of the chain head)? [Y/n] ")
        attest = answer.strip().lower() in ("", "y", "yes")
    if attest:
        return _attest(w, witness_file, f" ({before}, up to capture {head.capture_id})")
    print(f"not attested {before} ('archiver keygen --attest' attests them with this key)")
    return 0


def _attest(ws: Workspace, witness_file: Path | None, what: str) -> int:
    from ..fixity.key_history import attest

    path = attest(ws, witness_file)
    if path is None:
        print("nothing to attest: no capture is sealed yet")
    else:
        print(f"attested     {ws.relative(path)}{what} (signature {ws.relative(path)}.sig)")
    return 0


def _rotate(ws: Workspace, witness_file: Path | None) -> int:
    from ..fixity.key_history import rotate

    done = rotate(ws, witness_file)
    rel = ws.relative
    print(f"retired key  {done.old}: kept as {rel(done.retired_public)} and {rel(done.retired_private)} "
          "(its signatures stay verifiable; archiver no longer signs with it)")
    print(f"new key      {done.new} (pinned for this workspace; publish it with keys/archiver-signing-key.pub.pem)")
    print(f"statement    {rel(done.statement)}: the change and the chain head, signed by the old key (.sig) and "
          "the new one (.new.sig)")
    for problem in done.witness_problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0
