"""Another process of this computer (a second JupyterLab on another data folder, the CLI) that
launches one machine against a moto server: for the cross-process tests of cloud/access.py.

    python -m tests.helpers.launch_process URL DATA_DIR IMAGE_ID SLOW_SECONDS

It builds an orchestrator on DATA_DIR (whose SSH key the test wrote: the same computer as the
test's), prints ``ready``, waits for a line on stdin (so several processes start together),
launches, and prints the machine as JSON once it has an instance or failed. SLOW_SECONDS widens
the window between a describe and the create that follows it (EC2 answering slowly), so two
processes really do look at the same moment and both find nothing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_cloudlab.cloud.aws_client import AwsClient
from jupyter_cloudlab.models import LaunchRequest, MachineState
from tests.helpers.moto_cloud import make_orchestrator, target

SLOWED = ("DescribeKeyPairs", "DescribeSecurityGroups")
DEADLINE_SECONDS = 60.0


def _slow_replies(ec2: AwsClient, seconds: float) -> None:
    def slow(**_: Any) -> None:
        time.sleep(seconds)

    for operation in SLOWED:
        ec2.client.meta.events.register(f"after-call.ec2.{operation}", slow)


async def main(url: str, data_dir: Path, image_id: str, slow: float) -> None:
    ec2 = AwsClient(target(url))
    _slow_replies(ec2, slow)
    orchestrator = make_orchestrator(ec2, data_dir)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    machine = await orchestrator.launch(
        LaunchRequest(name=data_dir.name, instance_type="t3.medium", image_id=image_id)
    )
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        machine = orchestrator.get(machine.id)
        if machine.instance_id or machine.state is MachineState.failed:
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    print(machine.model_dump_json(), flush=True)
    # Its SSH link would wait for a machine moto does not run: end here, as a killed CLI would.
    os._exit(0)


if __name__ == "__main__":
    url, data_dir, image_id, slow = sys.argv[1:5]
    asyncio.run(main(url, Path(data_dir), image_id, float(slow)))
