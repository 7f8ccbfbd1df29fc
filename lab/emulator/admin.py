"""Client of the emulator's unsigned admin endpoints (/_lab/...), for tests and lab tooling."""

from __future__ import annotations

import json
import urllib.request


class AdminClient:
    """The admin side of a running emulator, reached at its base URL (loopback only)."""

    def __init__(self, url: str):
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError(f"the emulator's admin endpoints are on loopback only, not {url}")
        self.url = url

    def admin(self, path: str, payload=None):
        """GET path, or POST payload as JSON; returns the decoded JSON answer."""
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})  # loopback http only (above)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return json.loads(resp.read())

    def calls(self):
        return self.admin("/_lab/calls")

    def reset_calls(self):
        self.admin("/_lab/calls/reset", {})
