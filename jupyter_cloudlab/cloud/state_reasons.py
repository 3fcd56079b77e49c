"""Why EC2 stopped or terminated an instance, as a sentence: its StateReason code (and the time
in StateTransitionReason) turned into words a user acts on, next to errors.py's sentences.

Codes: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_StateReason.html
"""

from __future__ import annotations

import re

# Client.UserInitiatedShutdown is also what our own Stop and Terminate produce: callers use
# these sentences only for a stop or termination that was not ours.
_SENTENCES: dict[str, str] = {
    "Client.UserInitiatedShutdown": "{verb} from outside CloudLab (the AWS console, CLI or API)",
    "Client.InstanceInitiatedShutdown": "The machine shut itself down (its idle limit, its "
    "budget, or a shutdown command run on it)",
    "Server.SpotInstanceShutdown": "AWS interrupted this spot machine and stopped it "
    "(capacity or price); start it again when spot capacity returns",
    "Server.SpotInstanceTermination": "AWS interrupted this spot machine and terminated it "
    "(capacity or price)",
    "Server.InsufficientInstanceCapacity": "AWS had no capacity for this instance type when "
    "starting it: try again later, or resize it to another type",
    "Server.ScheduledStop": "AWS stopped it for a scheduled retirement of its host: start it "
    "again and it moves to a new host",
    "Server.InternalError": "AWS had an internal error while starting it: try again",
    "Client.VolumeLimitExceeded": "AWS refused its disk: the account's EBS volume limit is reached",
    "Client.InternalError": "AWS could not start it: its disk or image could not be used",
    "Client.InvalidSnapshot.NotFound": "AWS could not start it: the snapshot of its disk is gone",
}
# "User initiated (2026-12-04 09:12:40 GMT)": the time AWS recorded the change.
_WHEN = re.compile(r"\((\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}):\d{2} (GMT|UTC)\)")


def stop_sentence(
    state: str, code: str | None, message: str | None = None, transition: str | None = None
) -> str:
    """Why the instance is in `state` (stopped, terminated...), for a change that was not ours."""
    verb = "Terminated" if state in ("terminated", "shutting-down") else "Stopped"
    known = _SENTENCES.get(code or "")
    if known is not None:
        sentence = known.format(verb=verb)
    elif code:
        detail = (message or code).removeprefix(f"{code}: ")
        sentence = f"{verb} by AWS: {detail} ({code})"
    else:
        sentence = f"{verb} from outside CloudLab; AWS gave no reason"
    when = _WHEN.search(transition or "")
    if when is not None:
        sentence += f", at {when.group(2)} UTC on {when.group(1)}"
    return sentence + "."
