"""One EC2 client per configured region (the cloud is the truth in every one of them)."""

from __future__ import annotations

from collections.abc import Sequence

from .aws_client import AwsClient


class RegionClients:
    """The home region's client (where launches go) and, lazily, one per other region."""

    def __init__(self, home: AwsClient, regions: Sequence[str] = ()) -> None:
        self.home = home
        self._clients = {home.region: home}
        self._configured = [home.region, *(r for r in regions if r != home.region)]

    @property
    def regions(self) -> list[str]:
        """Where our machines are looked for: the home region first, then the others."""
        return list(self._configured)

    def get(self, region: str) -> AwsClient:
        if region not in self._clients:
            self._clients[region] = AwsClient(self.home.target, self.home.service, region)
        return self._clients[region]
