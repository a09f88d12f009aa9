"""RFC 3161 timestamp tokens: the request, and the checks of a reply or a stored token.

The home of ``rfc3161_client`` (requests, parsing, the chain to a root with OpenSSL's timestamp
purpose) and ``asn1crypto`` (the token's own CMS signature, checked with or without a root).
A token is checked in this order, the first failure named: size, parse, status granted, the
message imprint (sha256, sha384 or sha512 of the exact bytes), the nonce (replies only), the
signature by the certificate the token names, that certificate's critical extended key usage
``timeStamping``, and, when roots are given, the chain to one of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.errors import TimestampError, UsageError

MAX_TOKEN_BYTES = 256 * 1024          # a reply with a long chain is a few KiB
MAX_ROOT_FILE_BYTES = 1024 * 1024
_HASHES = {"2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512"}


@dataclass(frozen=True, slots=True)
class Query:
    """A timestamp request, DER, and the nonce it carries."""

    der: bytes
    nonce: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a checked token says."""

    gen_time: datetime            # the authority's time, UTC
    accuracy: timedelta           # as the token states it (zero when it states none)
    serial: int
    policy: str                   # the policy OID, dotted
    tsa: str                      # the authority's name in the token, else its certificate's subject
    signer: str                   # subject of the signing certificate (RFC 4514)
    hash_algorithm: str           # of the message imprint
    root_checked: bool            # its signer chains to one of the roots given

    def as_json(self) -> dict[str, Any]:
        return {"time": self.gen_time.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(self.gen_time) + "Z",
                "accuracy_seconds": self.accuracy.total_seconds(), "serial": str(self.serial),
                "policy": self.policy, "tsa": self.tsa, "signer": self.signer,
                "hash_algorithm": self.hash_algorithm, "root_checked": self.root_checked}


def _fraction(when: datetime) -> str:
    return f".{when.microsecond:06d}".rstrip("0") if when.microsecond else ""


def new_query(data: bytes) -> Query:
    """A request over ``data`` (sha256 imprint, a random 64-bit nonce, certReq true)."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256) \
        .nonce(nonce=True).cert_request(cert_request=True).build()
    if request.nonce is None:
        raise TimestampError("the request was built without a nonce")
    return Query(request.as_bytes(), request.nonce)


def check_reply(raw: bytes, data: bytes, query: Query, roots: list[Any], *, authority: str) -> TokenInfo:
    """An authority's reply to ``query`` over ``data``, checked; TimestampError naming the authority."""
    return _check(raw, data, query.nonce, roots, authority=authority, path=None)


def check_token(raw: bytes, data: bytes, roots: list[Any], *, path: str) -> TokenInfo:
    """A stored reply over ``data``, checked; TimestampError naming the file."""
    return _check(raw, data, None, roots, authority=None, path=path)


def load_roots(paths: Iterable[Path]) -> list[Any]:
    """The certificates in PEM files (a file may hold several); UsageError naming a file that cannot
    be read or holds none."""
    from cryptography import x509

    roots: list[Any] = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_ROOT_FILE_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"timestamp root {path}: cannot read it: {exc.strerror or exc}") from None
        if len(raw) > MAX_ROOT_FILE_BYTES:
            raise UsageError(f"timestamp root {path}: larger than {MAX_ROOT_FILE_BYTES} bytes")
        try:
            found = x509.load_pem_x509_certificates(raw)
        except ValueError:
            raise UsageError(f"timestamp root {path}: not a PEM certificate") from None
        roots += [c for c in found if c not in roots]
    return roots


def _check(raw: bytes, data: bytes, nonce: int | None, roots: list[Any], *, authority: str | None,
           path: str | None) -> TokenInfo:
    from rfc3161_client import PKIStatus, decode_timestamp_response

    def fail(reason: str) -> TimestampError:
        return TimestampError(reason, authority=authority, path=path)

    if len(raw) > MAX_TOKEN_BYTES:
        raise fail(f"larger than {MAX_TOKEN_BYTES} bytes: not a timestamp reply")
    try:
        response = decode_timestamp_response(raw)
        status = response.status
    except (ValueError, TypeError) as exc:
        raise fail(f"not an RFC 3161 timestamp reply ({_short(exc)})") from None
    if status != PKIStatus.GRANTED:
        said = "; ".join(response.status_string)[:200]
        raise fail(f"the authority did not grant a token: status {status}" + (f" ({said})" if said else ""))
    try:
        info = response.tst_info
        algorithm = _HASHES.get(info.message_imprint.hash_algorithm.dotted_string)
        imprint = info.message_imprint.message
        token = response.time_stamp_token()
    except (ValueError, TypeError) as exc:
        raise fail(f"the token cannot be read ({_short(exc)})") from None
    if algorithm is None:
        raise fail(f"the token's hash algorithm {info.message_imprint.hash_algorithm.dotted_string} is not "
                   "sha256, sha384 or sha512")
    actual = hashlib.new(algorithm, data).digest()
    if imprint != actual:
        raise fail(f"the token covers {algorithm} {imprint.hex()}, but the checksum list's is {actual.hex()}")
    if nonce is not None and info.nonce != nonce:
        raise fail("the reply's nonce is not the request's: a reply to another request")
    signer = _signer(token, fail)
    _check_eku(signer, fail)
    if roots:
        _check_chain(response, actual, roots, fail)
    return _info(info, signer, algorithm, root_checked=bool(roots))


def _signer(token: bytes, fail: Any) -> Any:
    """The certificate that signed the token, once its CMS signature over the TSTInfo is checked."""
    from asn1crypto import cms
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        signed = cms.ContentInfo.load(token)["content"]
        if signed["encap_content_info"]["content_type"].dotted != "1.2.840.113549.1.9.16.1.4":
            raise fail("the token's content is not a TSTInfo")
        content = signed["encap_content_info"]["content"].contents
        infos = signed["signer_infos"]
        if len(infos) != 1:
            raise fail(f"the token has {len(infos)} signers, not one")
        info = infos[0]
        sid = info["sid"].chosen
        certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
        leaf = next((c for c in certs if isinstance(sid, cms.IssuerAndSerialNumber) and c.issuer == sid["issuer"]
                     and c.serial_number == sid["serial_number"].native), None)
        if leaf is None:
            raise fail("the token does not carry the certificate that signed it (certReq was true)")
        attributes = info["signed_attrs"]
        values = {a["type"].dotted: a["values"][0] for a in attributes}
        digest_name = info["digest_algorithm"]["algorithm"].native
        if digest_name not in ("sha256", "sha384", "sha512"):
            raise fail(f"the token's signature uses digest {digest_name}, not sha256, sha384 or sha512")
        if values.get("1.2.840.113549.1.9.3") is None or values["1.2.840.113549.1.9.3"].dotted != \
                "1.2.840.113549.1.9.16.1.4":
            raise fail("the token's signed content type is not TSTInfo")
        if values.get("1.2.840.113549.1.9.4") is None or \
                values["1.2.840.113549.1.9.4"].native != hashlib.new(digest_name, content).digest():
            raise fail("the token's signed digest does not match its TSTInfo: the token was altered")
        certificate = x509.load_der_x509_certificate(leaf.dump())
        signed_bytes = b"\x31" + attributes.dump()[1:]      # signed as a SET OF, not as the [0] it is stored as
        _verify_signature(certificate.public_key(), info, signed_bytes, digest_name, fail)
    except InvalidSignature:
        raise fail("the token's signature is not valid: the token was altered") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise fail(f"the token's signature cannot be read ({_short(exc)})") from None
    return certificate


def _verify_signature(key: Any, info: Any, signed: bytes, digest_name: str, fail: Any) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[digest_name]
    signature = info["signature"].native
    kind = info["signature_algorithm"].signature_algo
    if isinstance(key, ec.EllipticCurvePublicKey) and kind == "ecdsa":
        key.verify(signature, signed, ec.ECDSA(algorithm))
    elif isinstance(key, rsa.RSAPublicKey) and kind == "rsassa_pkcs1v15":
        key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    elif isinstance(key, rsa.RSAPublicKey) and kind == "rsassa_pss":
        params = info["signature_algorithm"]["parameters"]
        pss_hash = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}.get(
            params["hash_algorithm"]["algorithm"].native)
        if pss_hash is None:
            raise fail("the token's RSA-PSS hash is not sha256, sha384 or sha512")
        key.verify(signature, signed, padding.PSS(padding.MGF1(pss_hash), params["salt_length"].native), pss_hash)
    elif isinstance(key, ed25519.Ed25519PublicKey) and kind == "ed25519":
        key.verify(signature, signed)
    else:
        raise fail(f"the token's signature algorithm {kind} with a {type(key).__name__} is not supported")


def _check_eku(certificate: Any, fail: Any) -> None:
    from cryptography import x509

    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise fail("the signer's certificate has no extended key usage timeStamping") from None
    except ValueError as exc:
        raise fail(f"the signer's certificate cannot be read ({_short(exc)})") from None
    if x509.ExtendedKeyUsageOID.TIME_STAMPING not in eku.value:
        raise fail("the signer's certificate is not for timestamping (no extended key usage timeStamping)")
    if not eku.critical:
        raise fail("the signer's extended key usage timeStamping is not marked critical (RFC 3161 2.3)")


def _check_chain(response: Any, digest: bytes, roots: list[Any], fail: Any) -> None:
    from rfc3161_client import VerificationError, VerifierBuilder

    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify(response, digest)
    except VerificationError as exc:
        reason = str(exc).split("Verify error: ")[-1].split('"')[0] if "Verify error" in str(exc) else str(exc)
        raise fail(f"its signer does not chain to a configured timestamp root ({_short(reason)})") from None


def _info(info: Any, signer: Any, algorithm: str, *, root_checked: bool) -> TokenInfo:
    subject = signer.subject.rfc4514_string()
    try:
        value: Any = getattr(info.name, "value", None)     # a GeneralName; a directory name most often
        tsa = value.rfc4514_string() if hasattr(value, "rfc4514_string") else str(value) if value else subject
    except (ValueError, TypeError, AttributeError):
        tsa = subject
    try:
        acc = info.accuracy
        accuracy = timedelta(seconds=acc.seconds or 0, milliseconds=acc.millis or 0, microseconds=acc.micros or 0)
    except (ValueError, TypeError, AttributeError):
        accuracy = timedelta(0)
    gen_time = info.gen_time
    gen_time = gen_time.replace(tzinfo=UTC) if gen_time.tzinfo is None else gen_time.astimezone(UTC)
    return TokenInfo(gen_time, accuracy, info.serial_number, info.policy.dotted_string, tsa, subject, algorithm,
                     root_checked)


def _short(error: object) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 160 else text[:157] + "..."
