"""Runs ON the machine, beside cloudlab_guard (stdlib only). The spot interruption notice, read
from the instance metadata service with IMDSv2 (the launch requires tokens): a token from
``PUT /latest/api/token``, then ``GET /latest/meta-data/spot/instance-action``, which answers 404
until EC2 plans to stop or terminate the instance, then ``{"action": ..., "time": ...}`` two
minutes ahead. The base URL is configurable: the sandbox's stand-in is a folder on the machine's
disk laid out as the service's paths (``file:~/.sandbox-imds``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

IMDS_URL = "http://169.254.169.254"
TOKEN_TTL_S = 21600
TIMEOUT_S = 2.0
NOTICE_PATH = "/latest/meta-data/spot/instance-action"


class SpotWatch:
    """Asks for a notice; remembers the token (valid hours) and whether IMDS answers at all."""

    def __init__(self, base_url: str = IMDS_URL) -> None:
        self.base_url = base_url.rstrip("/")
        self._token: str | None = None

    def _fetch_token(self) -> str:
        request = urllib.request.Request(
            self.base_url + "/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
            return reply.read().decode().strip()

    def notice(self) -> dict | None:
        """The instance action when one is announced; None when none is (or no IMDS answers:
        not on EC2, which the caller sees as no notice and asks again later)."""
        if not self.base_url:
            return None
        if self.base_url.startswith("file:"):
            return self._from_folder(os.path.expanduser(self.base_url[len("file:") :]))
        try:
            if self._token is None:
                self._token = self._fetch_token()
            request = urllib.request.Request(
                self.base_url + NOTICE_PATH, headers={"X-aws-ec2-metadata-token": self._token}
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
                found = json.loads(reply.read().decode() or "null")
        except urllib.error.HTTPError as error:
            if error.code == 401:
                self._token = None  # expired: a new one next time
            return None
        except (OSError, ValueError):
            return None
        return _notice(found)

    def _from_folder(self, folder: str) -> dict | None:
        try:
            with open(folder + NOTICE_PATH) as file:
                return _notice(json.load(file))
        except (OSError, ValueError):
            return None


def _notice(found: object) -> dict | None:
    """The instance action as the guard reports it; None for anything else."""
    if not isinstance(found, dict) or not isinstance(found.get("action"), str):
        return None
    return {"action": str(found["action"]), "time": str(found.get("time", ""))}
