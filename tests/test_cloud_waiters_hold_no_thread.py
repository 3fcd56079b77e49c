"""A machine waiting on AWS holds no thread: a boto3 waiter's `wait` would block one of the
loop's few executor threads for the minutes EC2 takes, and a few machines starting at once
would starve every other AWS call (and everything else run in the default executor). Our
waits poll one short call at a time in a thread and sleep on the loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from jupyter_cloudlab.cloud import instances
from jupyter_cloudlab.cloud.aws_client import AwsClient
from tests.helpers.moto_cloud import boto, record_params, register_image

THREADS = 2
MACHINES = THREADS + 1  # more machines waiting than there are threads
# Long enough for several polls of each wait (fast_cloud: one every 0.2 s).
WAITING_SECONDS = 1.0
# A trivial call queues behind a poll of a few milliseconds at most; a thread held by a
# blocking waiter would not answer before the instances start (after this check).
PROMPT_SECONDS = 2.0
SETTLE_SECONDS = 10.0


def test_machines_waiting_on_aws_leave_the_executor_free(url: str, ec2: AwsClient) -> None:
    # A loop of its own whose default executor has few threads; both go when the test ends.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        runner.get_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="few")
        )
        runner.run(_waits_leave_the_executor_free(url, ec2))


async def _waits_leave_the_executor_free(url: str, ec2: AwsClient) -> None:
    # Given machines EC2 has not got running (stopped: instance_running's acceptors neither
    # succeed nor fail on them, so each wait keeps polling)
    moto = boto(url)
    image = register_image(url, "Ubuntu 24.04 test")
    reply = moto.run_instances(
        ImageId=image, InstanceType="t3.medium", MinCount=MACHINES, MaxCount=MACHINES
    )
    ids = [raw["InstanceId"] for raw in reply["Instances"]]
    moto.stop_instances(InstanceIds=ids)
    polls = record_params(ec2, "DescribeInstances")
    waits = [asyncio.create_task(instances.wait_running(ec2, i)) for i in ids]
    try:
        # When they have been waiting a while
        await asyncio.sleep(WAITING_SECONDS)

        # Then a trivial call through the loop's default executor still runs at once
        loop = asyncio.get_running_loop()
        answer = loop.run_in_executor(None, lambda: "free")
        assert await asyncio.wait_for(answer, PROMPT_SECONDS) == "free"
        # while every machine is still waited on, each polled more than once meanwhile
        assert not any(wait.done() for wait in waits), waits
        assert len(polls) >= 2 * MACHINES, len(polls)

        # And once EC2 runs the instances, every wait ends with them running
        moto.start_instances(InstanceIds=ids)
        settled = await asyncio.wait_for(asyncio.gather(*waits), SETTLE_SECONDS)
        assert [info.state for info in settled] == ["running"] * MACHINES
    finally:
        # (a blocking waiter's thread ends at its next poll once the instances run)
        moto.start_instances(InstanceIds=ids)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
