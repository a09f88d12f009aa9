"""What every part of the server shares: the workspace, its settings and how the server is reached.
Built once by ``app.create_app``; passed to each part's ``routes``. No global state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.settings import Settings
from ..core.workspace import Workspace

_HOST_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


@dataclass(frozen=True, slots=True)
class ServeContext:
    """The server's settings, as started."""

    workspace: Workspace
    settings: Settings
    ui_base: str                 # the UI and API origin as browsers reach it, e.g. "http://127.0.0.1:8080"
    replay_base: str             # the replay origin (another port): archived content never shares the UI's origin
    public_url: str | None       # the address citations name, when the server is published (settings' public_url)
    token: str | None            # writing requests (verify now, start a capture) must carry it; None: read-only

    @property
    def collection(self) -> str:
        """The path prefix of archived copies: ``/<collection>/<timestamp>/<url>``, as citations name them."""
        return self.settings.collection

    @property
    def writable(self) -> bool:
        return self.token is not None

    def ui_origins(self) -> list[str]:
        """Every origin the UI may be reached by: as started, by the loopback names of its port, and the
        public URL's. A replay frame's every ancestor must be one of them (CSP frame-ancestors)."""
        ui = urlsplit(self.ui_base)
        out = [self.ui_base]
        if ui.hostname in ("127.0.0.1", "localhost", "::1"):
            out += [f"http://127.0.0.1:{ui.port}", f"http://localhost:{ui.port}"]
        public = urlsplit(self.public_url or "")
        if public.scheme in ("http", "https") and _HOST_NAME.fullmatch(public.hostname or ""):
            out.append(f"{public.scheme}://{public.netloc}")
        return list(dict.fromkeys(out))

    def replay_origin(self, host_header: str | None) -> str:
        """The replay origin as seen from a page reached by ``host_header``: the same host name with
        the replay port. A frame must share the page's host name (localhost and 127.0.0.1 are
        different sites: the replay engine's service worker does not start in a cross-site frame)."""
        replay = urlsplit(self.replay_base)
        name = (host_header or "").rsplit(":", 1)[0] if host_header and not host_header.endswith("]") else host_header
        if not name or not _HOST_NAME.fullmatch(name):
            return self.replay_base
        return f"{replay.scheme}://{name}:{replay.port}"
