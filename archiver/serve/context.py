"""What every part of the server shares: the workspace, its settings and how the server is reached.
Built once by ``app.create_app``; passed to each part's ``routes``. No global state."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.settings import Settings
from ..core.workspace import Workspace


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
