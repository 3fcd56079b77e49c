"""Host keys: pinned per instance id, taken from EC2's console output, a change refused."""

from __future__ import annotations

import re
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab import cli
from jupyter_cloudlab.data_folder import DataFolder
from jupyter_cloudlab.ssh.host_keys import (
    HostKeyChanged,
    HostKeyStore,
    console_fingerprints,
    fingerprint,
)
from tests.helpers.ssh_machines import rig

PACKAGE = Path(__file__).parent.parent / "jupyter_cloudlab"


def _aws_console(*keys: asyncssh.SSHKey) -> str:
    """GetConsoleOutput as EC2 returns it: cloud-init's lines prefixed `ec2: `, CRLF ends."""
    lines = [
        "[   12.345678] cloud-init[1021]: Cloud-init v. 24.1.3 running 'modules:final'",
        "ec2: ",
        "ec2: #############################################################",
        "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
        *(f"ec2: 256 {fingerprint(k)} root@ip-172-31-5-9 (ED25519)" for k in keys),
        "ec2: -----END SSH HOST KEY FINGERPRINTS-----",
        "ec2: #############################################################",
        "-----BEGIN SSH HOST KEY KEYS-----",
        "-----END SSH HOST KEY KEYS-----",
    ]
    return "\r\n".join(lines) + "\r\n"


def test_console_fingerprints_in_the_aws_form() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    other = asyncssh.generate_private_key("ssh-ed25519")
    assert console_fingerprints(_aws_console(key)) == {fingerprint(key)}
    # A rebuilt machine prints a second block: the last one is the truth
    assert console_fingerprints(_aws_console(key) + _aws_console(other)) == {fingerprint(other)}
    assert console_fingerprints("no cloud-init here") == set()


def test_store_pins_and_refuses_a_console_mismatch(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "host_keys.json")
    key = asyncssh.generate_private_key("ssh-ed25519")
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    # A key the console contradicts is refused and not pinned
    with pytest.raises(HostKeyChanged, match="console printed"):
        store.verify("i-1", impostor, _aws_console(key))
    assert store.pinned("i-1") is None
    # The console's key is pinned; later, without console, a different key is refused
    assert store.verify("i-1", key, _aws_console(key))
    with pytest.raises(HostKeyChanged, match="forget-host-key i-1"):
        store.verify("i-1", impostor, "")
    assert store.forget("i-1") and store.verify("i-1", impostor, "")


def test_trusted_fingerprints_pin_the_matching_key_only(tmp_path: Path) -> None:
    store = HostKeyStore(tmp_path / "host_keys.json")
    key = asyncssh.generate_private_key("ssh-ed25519")
    rsa = asyncssh.generate_private_key("ssh-rsa")
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    # Given fingerprints the user read on the machine (every host key it has)
    store.trust("i-1", [fingerprint(key), fingerprint(rsa) + "="])
    assert store.knows("i-1") and store.pinned("i-1") is None
    # A key that is not among them is refused, even when a console vouches for it
    with pytest.raises(HostKeyChanged, match="trust-host-key"):
        store.verify("i-1", impostor, _aws_console(impostor))
    # The one offered that matches is pinned, and then only it is accepted
    assert store.verify("i-1", rsa, "")
    pinned = store.pinned("i-1")
    assert pinned is not None and fingerprint(pinned) == fingerprint(rsa)
    with pytest.raises(HostKeyChanged, match="changed since it was pinned"):
        store.verify("i-1", key, "")
    # Trusting other fingerprints over a pinned key is refused; malformed ones too
    with pytest.raises(ValueError, match="forget-host-key i-1"):
        store.trust("i-1", [fingerprint(impostor)])
    with pytest.raises(ValueError, match="SHA256"):
        store.trust("i-2", ["MD5:aa:bb"])
    assert not store.knows("i-2")


def test_cli_trust_host_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    data_dir = ["--data-dir", str(tmp_path)]
    # When the user pins a fingerprint from a terminal, Then the server's store holds it
    assert cli.main(["trust-host-key", "i-0abc", fingerprint(key), *data_dir]) == 0
    store = HostKeyStore(DataFolder(tmp_path).aws.host_keys)
    assert store.trusted_fingerprints("i-0abc") == {fingerprint(key)}
    # And a typo is refused with exit status 2 and a sentence
    assert cli.main(["trust-host-key", "i-0abc", "SHA256:short", *data_dir]) == 2
    assert "ssh-keygen -lf" in capsys.readouterr().err


def test_no_code_turns_host_key_checking_off() -> None:
    offenders = [
        str(path)
        for path in PACKAGE.rglob("*.py")
        if re.search(r"known_hosts\s*=\s*None|StrictHostKeyChecking=no", path.read_text())
    ]
    assert offenders == []


async def test_a_changed_host_key_is_refused_by_real_sshd(tmp_path: Path) -> None:
    async with rig(tmp_path) as machine:
        instance = machine.instance_id
        # Given a machine whose key was pinned at the first connection (through its console)
        connection = await machine.connect()
        connection.close()
        assert machine.host_keys.pinned(instance) is not None

        # When its host key is replaced on disk (and the console shows the new one)
        await machine.host.power_off(instance)
        (machine.disk / "etc" / "ssh_host_ed25519_key").unlink()
        (machine.disk / "console.log").unlink()
        await machine.power_on()

        # Then the connection is refused, saying what happened and what to do
        with pytest.raises(HostKeyChanged) as refused:
            await machine.connect()
        assert "changed since it was pinned" in str(refused.value)
        assert f"jupyter cloudlab forget-host-key {instance}" in str(refused.value)

        # And after forgetting the key on purpose, it connects and pins the new one
        machine.host_keys.forget(instance)
        (await machine.connect()).close()
