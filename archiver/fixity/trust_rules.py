"""What signatures and the witness say about a workspace's captures: the rules ``verify`` applies.
Pure: the facts in, findings out; ``verifying`` gathers the facts and reports the findings.

Signatures. A signed capture's checksum list names its manifest's sha256, and that manifest names
the sha256 of the one before it: a valid signature vouches for its capture *and every capture
before it in the chain*. So:

- once a workspace has signed (a capture has a signature, a manifest names a ``signing_key``, or
  the witness saw a signed seal), every capture sealed after the first signed one must carry a
  valid signature: a missing one is an error, not a warning (an attacker who edits the newest
  manifest can always delete its signature);
- with ``--trusted-key``, every capture must be vouched for by a signature valid under that key,
  its own or a later one's; anything after the last such signature is an error;
- an unsigned capture before the first signature, with nothing after it signed, is a warning.

The witness (``archiver.witness``): every capture it saw sealed must still be there with the same
manifest digest (else: a rollback, or a rewritten chain); the workspace's key must be the one this
user pinned.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .witness import Witnessed


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SigState:
    """One capture's seal as found on disk, in chain order."""

    capture_id: str
    sequence: int
    has_signature: bool
    valid: bool | None              # None: no key to check it with
    declared_key: str | None        # the manifest's signing_key


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    message: str
    capture_id: str | None = None


def judge_signatures(states: list[SigState], *, key_id: str | None, key_source: str | None, trusted: bool,
                     witnessed: Witnessed, attested: int | None = None) -> list[Finding]:
    """Every rule of the module docstring about signatures, over captures in chain order. ``attested``:
    the highest sequence a valid key statement (fixity.key_history) vouches for, as a later signature would."""
    states = sorted(states, key=lambda s: s.sequence)
    out: list[Finding] = []
    for st in states:
        out += _one_signature(st, key_id, key_source, witnessed)
    signed_seen = [s.sequence for s in states if s.has_signature or s.declared_key
                   or (s.capture_id in witnessed.seals and witnessed.seals[s.capture_id].signed)]
    first_signed = min(signed_seen, default=None)
    last_valid = max((s.sequence for s in states if s.valid), default=None)
    if attested is not None:
        last_valid = max(last_valid or 0, attested + 1)      # covers every capture up to and including it
    first = next((s for s in states if s.sequence == first_signed), None)
    for st in states:
        if st.valid:
            continue
        covered = last_valid is not None and last_valid > st.sequence
        if not st.has_signature and first is not None and st.sequence > first.sequence:
            out.append(Finding(Level.ERROR, f"unsigned, but sealed after capture {first.capture_id}, the "
                                            "workspace's first signed capture: every later capture must carry a "
                                            "valid signature", st.capture_id))
        elif trusted and not covered:
            out.append(Finding(Level.ERROR, f"not vouched for by any signature valid under the trusted key "
                                            f"{key_id} (neither its own nor a later capture's)", st.capture_id))
        elif not st.has_signature and not covered and first is not None and st.sequence < first.sequence:
            out.append(Finding(Level.WARNING, "unsigned: sealed before the workspace had a key, and no later "
                                              "signature vouches for it", st.capture_id))
    return out


def _one_signature(st: SigState, key_id: str | None, key_source: str | None, witnessed: Witnessed) -> list[Finding]:
    out = []
    seen = witnessed.seals.get(st.capture_id)
    if st.has_signature and st.valid is None:
        out.append(Finding(Level.ERROR, "signed, but there is no public key to check the signature with "
                                        "(keys/archiver-signing-key.pub.pem is missing: give --trusted-key)",
                           st.capture_id))
    elif st.has_signature and st.valid is False:
        out.append(Finding(Level.ERROR, f"invalid signature: it does not match the checksum list under the key "
                                        f"{key_id} ({key_source})", st.capture_id))
    if st.declared_key and not st.has_signature:
        out.append(Finding(Level.ERROR, f"signature missing: the manifest says it was signed with {st.declared_key}",
                           st.capture_id))
    elif st.declared_key and key_id and st.declared_key != key_id and st.valid is not True:
        out.append(Finding(Level.ERROR, f"sealed with the key {st.declared_key}, but the key checking it is {key_id}",
                           st.capture_id))
    if seen is not None and seen.signed and not st.has_signature and not st.declared_key:
        out.append(Finding(Level.ERROR, f"signature missing: the witness saw this capture sealed with a signature "
                                        f"by {seen.key} on {seen.at}", st.capture_id))
    return out


def judge_witness(witnessed: Witnessed, manifests: dict[str, str]) -> list[Finding]:
    """``manifests``: capture id -> sha256 of its manifest, as found in the workspace now."""
    out = [Finding(Level.WARNING, message) for message in witnessed.unreadable]
    gone = sorted((s for s in witnessed.seals.values() if s.capture_id not in manifests), key=lambda s: s.sequence)
    for seen in gone:
        out.append(Finding(Level.ERROR, f"rollback: capture {seen.capture_id} (sequence {seen.sequence}), sealed "
                                        f"{seen.at}, is gone from the workspace; the witness saw it sealed",
                           seen.capture_id))
    for seen in witnessed.seals.values():
        now = manifests.get(seen.capture_id)
        if now is not None and now != seen.sha256:
            out.append(Finding(Level.ERROR, f"manifest replaced: its sha256 is {now}, the witness saw it sealed "
                                            f"with {seen.sha256} on {seen.at}", seen.capture_id))
    return out


def judge_key_pin(witnessed: Witnessed, workspace_key: str | None, accepted: str | None) -> list[Finding]:
    """The workspace's public key against the one this user pinned."""
    pinned = witnessed.key
    if pinned is None or accepted is not None and accepted == workspace_key:
        return []
    if workspace_key is None:
        return [Finding(Level.ERROR, f"this user pinned the signing key {pinned} for this workspace on "
                                     f"{witnessed.key_pinned_at}, but the workspace has no public key now")]
    if workspace_key != pinned:
        return [Finding(Level.ERROR, f"the workspace's public key is {workspace_key}, but this user pinned "
                                     f"{pinned} for it on {witnessed.key_pinned_at}: if you replaced the key "
                                     f"yourself, run verify with --accept-key {workspace_key}")]
    return []


def judge_expected_head(expected: str, manifests: dict[str, str]) -> list[Finding]:
    """``expected``: the sha256 of a head manifest published earlier; it must still be in the chain."""
    holder = next((cid for cid, digest in manifests.items() if digest == expected), None)
    if holder is None:
        return [Finding(Level.ERROR, f"expected head sha256:{expected} is not in the chain: captures were "
                                     "removed (rolled back) or the chain was rewritten since it was published")]
    return []
