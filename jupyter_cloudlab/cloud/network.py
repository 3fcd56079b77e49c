"""Where a running instance's SSH answers, and what its console printed.

On AWS: the public address, port 22, and GetConsoleOutput. The sandbox supplies its own
implementation that maps instances to SSH servers on loopback.
"""

from __future__ import annotations

import base64
from typing import Protocol

from ..errors import ErrorKind
from .aws_client import AwsClient
from .errors import CloudError
from .instances import InstanceInfo


class MachineNetwork(Protocol):
    async def ssh_endpoint(self, instance: InstanceInfo) -> tuple[str, int]: ...

    async def console_output(self, instance_id: str) -> str: ...


class Ec2Network:
    def __init__(self, ec2: AwsClient) -> None:
        self._ec2 = ec2

    async def ssh_endpoint(self, instance: InstanceInfo) -> tuple[str, int]:
        if not instance.public_ip:
            raise CloudError(
                f"Instance {instance.instance_id} has no public address: launch it in a subnet "
                "that assigns public IPs.",
                ErrorKind.conflict,
            )
        return instance.public_ip, 22

    async def console_output(self, instance_id: str) -> str:
        reply = await self._ec2.call("get_console_output", InstanceId=instance_id, Latest=True)
        output = reply.get("Output", "")
        try:
            return base64.b64decode(output).decode(errors="replace")
        except ValueError:
            return output
