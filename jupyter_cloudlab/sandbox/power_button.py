"""The sandbox machines' power button and instance metadata, so a machine that shuts itself down
stops this host nothing: only its instance, in the sandbox's EC2, as on AWS.

* Power off: the machine server's guard runs ``POWER_OFF_COMMANDS`` (set for sandbox machines
  instead of ``shutdown -h now``), which leaves ``~/.sandbox-power-off`` on the machine's disk.
  The hypervisor finds it, stops the instance through EC2, and gives it the StateReason AWS
  gives an instance-initiated shutdown (moto has no call for that: its in-process instance is
  set directly).
* Spot notice: the guard reads the instance-action document from ``~/.sandbox-imds`` (a folder
  laid out as the metadata service's paths) instead of 169.254.169.254;
  ``simulate_spot_notice`` writes one there.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

POWER_OFF_FILE = ".sandbox-power-off"
IMDS_FOLDER = ".sandbox-imds"
POWER_OFF_COMMANDS = (("sh", "-c", f': > "$HOME/{POWER_OFF_FILE}"'),)
IMDS_URL = f"file:~/{IMDS_FOLDER}"
INSTANCE_INITIATED = (
    "Client.InstanceInitiatedShutdown",
    "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
)


def guard_settings() -> dict[str, object]:
    """What the machine server's guard is configured with on sandbox machines."""
    return {"power_off_commands": POWER_OFF_COMMANDS, "imds_url": IMDS_URL}


def take_power_off(home: str) -> bool:
    """Whether the machine of HOME pressed its power button (the press is consumed)."""
    button = Path(home) / POWER_OFF_FILE
    if not button.exists():
        return False
    button.unlink(missing_ok=True)
    return True


def mark_instance_initiated(instance_id: str, region: str) -> None:
    """Give the (stopped) instance the StateReason of a shutdown from inside it."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import StateReason

    instance = ec2_backends[DEFAULT_ACCOUNT_ID][region].get_instance(instance_id)
    code, message = INSTANCE_INITIATED
    instance.state_reason = StateReason(message, code)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S GMT")
    instance._reason = f"Client.InstanceInitiatedShutdown ({stamp})"


def simulate_spot_notice(home: str, action: str = "stop", in_seconds: int = 120) -> dict[str, str]:
    """Announce a spot interruption to the machine of HOME, as IMDS does two minutes ahead."""
    at = datetime.now(timezone.utc) + timedelta(seconds=in_seconds)
    notice = {"action": action, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = Path(home) / IMDS_FOLDER / "latest" / "meta-data" / "spot" / "instance-action"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notice))
    return notice
