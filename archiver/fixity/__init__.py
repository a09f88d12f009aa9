"""Proof that nothing changed and nothing was removed: the manifest format (manifest), sealing
(seal), the chain of manifests (chain), Ed25519 signatures (signing), the witness kept outside the
workspace (witness), and verify (verify) with its rules for signatures and the witness (trust_rules)
and for manifest entries against WARC records (entry_check)."""
