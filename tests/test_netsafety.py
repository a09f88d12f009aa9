"""Network safety: found URLs may not reach private or link-local addresses unless allowed."""

from __future__ import annotations

import pytest

from archiver import capture
from archiver.core.errors import FetchError
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.net.address_policy import AddressPolicy, classify, policy_for

HTML = [("Content-Type", "text/html")]


@pytest.mark.parametrize("ip,kind", [
    ("8.8.8.8", "public"), ("2001:4860:4860::8888", "public"), ("127.0.0.1", "private"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("100.64.0.1", "private"), ("0.0.0.0", "private"),
    ("::1", "private"), ("fc00::1", "private"), ("224.0.0.1", "private"), ("::ffff:127.0.0.1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
])
def test_classify(ip: str, kind: str) -> None:
    assert classify(ip) == kind


def test_policies() -> None:
    public_seed = AddressPolicy(private_ok=False, link_local_ok=False)
    with pytest.raises(FetchError, match="non-public address 127.0.0.1"):
        public_seed.check("http://x/", "127.0.0.1")
    with pytest.raises(FetchError, match="link-local"):
        policy_for(["127.0.0.1"], allow_private=False, deny_private=False).check("http://x/", "169.254.169.254")
    policy_for(["127.0.0.1"], allow_private=False, deny_private=False).check("http://x/", "10.0.0.1")
    policy_for(["x"], allow_private=True, deny_private=False).check("http://x/", "169.254.169.254")
    assert policy_for(["127.0.0.1"], allow_private=False, deny_private=True) == public_seed


def test_deny_private_blocks_found_urls_and_redirect_hops_but_not_the_seed(serve, workspace: Workspace) -> None:
    other = serve([Host("o", "127.0.0.97", routes={"/secret": Response(200, HTML, b"internal")})])
    site = serve([Host("h", "127.0.0.96", routes={
        "/": Response(200, HTML, f'<a href="{other.url("o", "/secret")}">x</a><a href="/hop">y</a>'
                                  f'<img src="http://2130706433:{other.origin("o").rsplit(":", 1)[1]}/secret">'.encode()),
        "/hop": Response(302, [("Location", other.url("o", "/secret"))])})])
    result = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5, deny_private=True, ignore_robots=True))
    assert result.ok                                          # the seed itself was named by the user
    blocked = {f.url for f in result.failures if f.kind == "blocked"}
    assert other.url("o", "/secret") in blocked and site.url("h", "/hop") in blocked
    assert not any(s.url == other.url("o", "/secret") for s in other.served)
    allowed = capture([site.url("h", "/")], workspace, CaptureOptions(timeout=5, ignore_robots=True))
    assert other.url("o", "/secret") in {r.url for r in allowed.resources}   # a private seed: private is fine
