"""Keys over time: attest the chain head with the workspace's key, rotate the key, and what verify
makes of the statements (fixity.key_statements holds their format).

Which keys count. A rotation statement signed by both its keys links them. Checking a workspace,
the keys that count are its current key and every key a chain of rotations leads back from it
(each step signed by the newer key, so nobody without the current key can add an old one). With
``--trusted-key`` they are that key and every key linked to it either way (an old key you trust
vouches for the key it handed over to). A key rotated twice (two statements from one key to two
others) is an error: someone else held it. The key this user pinned and a workspace key other than
it are reconciled only by a chain of rotations forward from the pinned key: an unannounced
replacement is still refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from ..core.workspace import Workspace, atomic_write
from .key_statements import HeadRef, KeyRef, Statement, read_statement, signature_paths, statement_paths, write_statement
from .trust_rules import Finding, Level, SigState

# -- writing ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Rotation:
    old: str                        # fingerprints
    new: str
    statement: Path
    retired_private: Path
    retired_public: Path
    witness_problems: tuple[str, ...] = ()


def _head_ref(workspace: Workspace) -> HeadRef | None:
    from .seal import find_head

    head = find_head(workspace)
    return HeadRef(head.capture_id, head.sequence or 0, head.sha256) if head is not None else None


def attest(workspace: Workspace, witness_file: Path | None = None, *, now: datetime | None = None) -> Path | None:
    """A new attestation of the chain head by the workspace's key (checked and pinned, as a capture
    checks it); None when no capture is sealed yet. UsageError when the workspace has no key."""
    from .seal import signing_key
    from .signing import fingerprint, public_pem_of

    key = signing_key(workspace, witness_file)
    if key is None:
        raise UsageError(f"{workspace.root} has no signing key to attest with ('archiver keygen' makes one)")
    with workspace.lock():
        head = _head_ref(workspace)
        if head is None:
            return None
        ref = KeyRef(fingerprint(key.public_key()), public_pem_of(key.public_key()))
        return write_statement(workspace, "attestation", ref, key, head, now=now)


def rotate(workspace: Workspace, witness_file: Path | None = None, *, now: datetime | None = None) -> Rotation:
    """Replace the workspace's key by a new one: the old key pair kept under its fingerprint
    (``keys/<hex>.pem``, ``.pub.pem``), a rotation statement signed by both keys, the new key
    pinned for this user. UsageError when there is no key; WorkspaceError when it is not the pinned one."""
    from .seal import signing_key
    from .signing import fingerprint, new_key_pair, private_key_of_pem, public_pem_of
    from .witness import record_key, witness_paths

    old = signing_key(workspace, witness_file)       # refuses a key this user did not pin
    if old is None:
        raise UsageError(f"{workspace.root} has no signing key to rotate ('archiver keygen' makes the first)")
    with workspace.lock():
        old_ref = KeyRef(fingerprint(old.public_key()), public_pem_of(old.public_key()))
        private_pem, public_pem = new_key_pair()
        new = private_key_of_pem(private_pem)
        new_ref = KeyRef(fingerprint(new.public_key()), public_pem)
        retired_private, retired_public = workspace.retired_key_paths(old_ref.fingerprint)
        atomic_write(retired_public, old_ref.public_key)
        if not retired_private.exists():
            os.link(workspace.private_key_path, retired_private)      # kept, mode 0600 as it was
        statement = write_statement(workspace, "rotation", old_ref, old, _head_ref(workspace), now=now,
                                    new_key=new_ref, new_private=new)
        atomic_write(workspace.private_key_path, private_pem, 0o600)
        atomic_write(workspace.public_key_path, public_pem)
        problems = record_key(witness_paths(workspace.root, witness_file), workspace.root, new_ref.fingerprint)
    return Rotation(old_ref.fingerprint, new_ref.fingerprint, statement, retired_private, retired_public,
                    tuple(problems))


# -- judging ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyUse:
    """A key as verify reports it: its fingerprint, what it is, how many captures it signed."""

    fingerprint: str
    role: str                       # "current", "trusted", "retired: rotated to sha256:... on ..."
    captures_signed: int
    statements: int                 # attestations and rotations it signed


@dataclass(slots=True)
class KeyHistory:
    anchor: str | None                                   # the key trust starts from
    statements: list[Statement] = field(default_factory=list)     # read, with every signature valid
    findings: list[Finding] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)           # fingerprint -> public key
    accepted: set[str] = field(default_factory=set)

    def key_for(self, declared: str | None, default: Any) -> Any:
        """The public key that checks a capture's signature: the one its manifest names when that
        key counts, else ``default``."""
        return self.keys[declared] if declared in self.accepted and declared in self.keys else default

    def announced(self, pinned: str | None, current: str | None) -> bool:
        """Whether rotations signed by both keys lead forward from ``pinned`` to ``current``."""
        return pinned is not None and current is not None and current in _reach({pinned}, self._rotations(), False)

    def _rotations(self) -> list[tuple[str, str]]:
        return [(s.key.fingerprint, s.new_key.fingerprint) for s in self.statements if s.new_key is not None]

    def judge_heads(self, manifests: dict[str, str]) -> tuple[int | None, list[Finding]]:
        """(the highest sequence a statement of a key that counts vouches for, findings about the
        statements' heads). ``manifests``: capture id -> sha256 of its manifest now."""
        attested: int | None = None
        out = []
        for s in self.statements:
            signers = {s.key.fingerprint} | ({s.new_key.fingerprint} if s.new_key else set())
            name = f"{s.kind} {s.path.parent.name}/{s.path.name} ({s.made})"
            if not signers & self.accepted:
                out.append(Finding(Level.WARNING, f"{name} is signed by {s.key.fingerprint}, a key no rotation links "
                                                  "to the workspace's key: it vouches for nothing"))
            elif s.head is not None and s.head.capture_id not in manifests:
                out.append(Finding(Level.ERROR, f"rollback: {name} attests capture {s.head.capture_id} (sequence "
                                                f"{s.head.sequence}) as the chain head, and it is gone", s.head.capture_id))
            elif s.head is not None and manifests[s.head.capture_id] != s.head.sha256:
                out.append(Finding(Level.ERROR, f"manifest replaced: {name} attests its sha256 as {s.head.sha256}, it "
                                                f"is {manifests[s.head.capture_id]} now", s.head.capture_id))
            elif s.head is not None:
                attested = max(attested or 0, s.head.sequence)
        return attested, out

    def uses(self, seals: list[SigState], current: str | None, trusted: bool,
             imported: frozenset[str] = frozenset()) -> list[KeyUse]:
        """Every key that signed a capture or a statement, the current (or trusted) one first;
        ``imported``: the keys of captures imported from archiver packages (checked as their segment)."""
        signed: dict[str, int] = {}
        for st in seals:
            if st.valid:
                fp = st.declared_key or current or "?"
                signed[fp] = signed.get(fp, 0) + 1
        made: dict[str, int] = {}
        for s in self.statements:
            for fp in {s.key.fingerprint} | ({s.new_key.fingerprint} if s.new_key else set()):
                made[fp] = made.get(fp, 0) + 1
        rotated = {s.key.fingerprint: s for s in self.statements if s.new_key is not None}
        order = ([current] if current else []) + sorted((set(signed) | set(made)) - {current})
        out = []
        for fp in order:
            step = rotated.get(fp)
            role = ("trusted" if trusted else "current") if fp == current else \
                f"retired: rotated to {step.new_key.fingerprint} on {step.made}" if step and step.new_key else \
                "linked to the workspace's key" if fp in self.accepted else \
                "of captures imported from another workspace, vouched for by this workspace's import record" \
                if fp in imported else "NOT linked to the workspace's key"
            out.append(KeyUse(fp, role, signed.get(fp, 0), made.get(fp, 0)))
        return out


def load_history(workspace: Workspace, anchor: Any | None, *, trusted: bool) -> KeyHistory:
    """Read and check every statement; the keys that count start from ``anchor`` (a public key: the
    workspace's, or the one given with --trusted-key)."""
    from .signing import fingerprint, signature_valid

    history = KeyHistory(fingerprint(anchor) if anchor is not None else None)
    if anchor is not None and history.anchor is not None:
        history.keys[history.anchor] = anchor
    for path in statement_paths(workspace):
        rel = workspace.relative(path)
        try:
            s = read_statement(path)
        except (OSError, ValueError) as exc:
            history.findings.append(Finding(Level.ERROR, f"key statement {rel} unreadable: {exc}"))
            continue
        signers = [(s.key, signature_paths(path)[0])] + ([(s.new_key, signature_paths(path)[1])] if s.new_key else [])
        bad = []
        for ref, sig in signatures_of(signers):
            key = history.keys.get(ref.fingerprint) or load_public_key_pem(ref.public_key)
            if sig is None or not signature_valid(key, s.data, sig):
                bad.append(f"{ref.fingerprint} ({'missing' if sig is None else 'invalid'} signature)")
            else:
                history.keys.setdefault(ref.fingerprint, key)
        if bad:
            history.findings.append(Finding(Level.ERROR, f"key statement {rel}: not signed by {', '.join(bad)}"))
            continue
        history.statements.append(s)
    rotations = history._rotations()
    history.findings += _forks(history.statements)
    if history.anchor is not None:
        history.accepted = _reach({history.anchor}, rotations, True) | (
            _reach({history.anchor}, rotations, False) if trusted else set())
    return history


def signatures_of(signers: list[tuple[KeyRef, Path]]) -> list[tuple[KeyRef, bytes | None]]:
    out: list[tuple[KeyRef, bytes | None]] = []
    for ref, path in signers:
        try:
            out.append((ref, path.read_bytes()[:1024]))
        except OSError:
            out.append((ref, None))
    return out


def load_public_key_pem(pem: bytes) -> Any:
    from .signing import public_key_of_pem

    return public_key_of_pem(pem)


def _forks(statements: list[Statement]) -> list[Finding]:
    handed: dict[str, set[str]] = {}
    for s in statements:
        if s.new_key is not None:
            handed.setdefault(s.key.fingerprint, set()).add(s.new_key.fingerprint)
    return [Finding(Level.ERROR, f"the key {old} was rotated to {len(new)} different keys ({', '.join(sorted(new))}): "
                                 "someone other than its holder had it") for old, new in sorted(handed.items()) if len(new) > 1]


def _reach(start: set[str], rotations: list[tuple[str, str]], backward: bool) -> set[str]:
    """Keys reached from ``start`` along rotations (old -> new), or against them with ``backward``."""
    found = set(start)
    grew = True
    while grew:
        grew = False
        for old, new in rotations:
            src, dst = (new, old) if backward else (old, new)
            if src in found and dst not in found:
                found.add(dst)
                grew = True
    return found
