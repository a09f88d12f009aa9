"""Which addresses a capture may connect to.

Page content decides which linked sources and requisites are fetched, so a hostile page could
point the archiver at services on a private network or at a cloud metadata endpoint. The rule:

- link-local addresses (169.254.0.0/16, which holds cloud metadata services, and fe80::/10) are
  never connected to unless ``allow_private``;
- when the seeds are public, found URLs that resolve to loopback, private (RFC 1918, fc00::/7),
  CGNAT (100.64.0.0/10), multicast, reserved or unspecified addresses are not fetched either;
- ``allow_private`` lifts both; ``deny_private`` applies the second even when the seeds themselves
  are private (an intranet capture that must not wander, and the tests);
- the URLs the user names are always fetched.

The check runs on the address actually connected to, after DNS, on every redirect hop, so odd
spellings (``2130706433``, ``0x7f.1``) and DNS rebinding gain nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from ..core.errors import FetchError

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def classify(ip: str) -> str:
    """'link-local', 'private' (any non-public address) or 'public'."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if addr.is_link_local:
        return "link-local"
    if (addr.is_private or addr.is_loopback or addr.is_multicast or addr.is_reserved or addr.is_unspecified
            or (isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT) or not addr.is_global):
        return "private"
    return "public"


def host_is_private(host: str) -> bool:
    """Whether every address ``host`` resolves to is non-public (unresolvable counts as public)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(classify(str(info[4][0])) != "public" for info in infos)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    private_ok: bool        # loopback / private / CGNAT ... may be fetched
    link_local_ok: bool     # 169.254/16 and fe80::/10 may be fetched

    def check(self, url: str, ip: str) -> None:
        kind = classify(ip)
        if kind == "link-local" and not self.link_local_ok:
            raise FetchError(url, "blocked", f"blocked: resolves to link-local address {ip} (cloud metadata "
                                             f"lives there); --allow-private lifts this")
        if kind != "public" and not self.private_ok:
            raise FetchError(url, "blocked", f"blocked: resolves to non-public address {ip} while the seeds "
                                             f"are public; --allow-private lifts this")


def policy_for(seed_hosts: list[str], *, allow_private: bool, deny_private: bool) -> AddressPolicy:
    if allow_private:
        return AddressPolicy(private_ok=True, link_local_ok=True)
    if deny_private:
        return AddressPolicy(private_ok=False, link_local_ok=False)
    return AddressPolicy(private_ok=all(host_is_private(h) for h in seed_hosts), link_local_ok=False)
