"""Secrets stay secret: the client key is 0600 and never logged; the machine server token never
printed; the laptop user's own SSH setup (config, agent) never applies to a machine connection."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import asyncssh
import pytest

from jupyter_cloudlab.ssh.bootstrap import BootstrapOptions, bootstrap
from jupyter_cloudlab.ssh.client_key import load_or_create_client_key
from tests.helpers.ssh_machines import rig


def test_client_key_is_private_from_creation_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "cloudlab" / "id_ed25519"
    load_or_create_client_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # someone loosened it
    load_or_create_client_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_no_secret_reaches_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig(tmp_path) as machine:
        connection = await machine.connect()
        machine_server = await bootstrap(connection, BootstrapOptions(env_roots=()))
        connection.close()
    private = machine.client_key.export_private_key().decode()
    secret_line = private.splitlines()[1]
    logged = caplog.text + repr(machine_server)
    assert machine_server.token not in logged
    assert secret_line not in logged


# Lines of a laptop user's ~/.ssh/config, each of which would change a machine connection if it
# applied: a jump through another host, environment sent or set on the machine, a command run
# here when the file is read, the agent forwarded, other keys and users, other auth methods.
HOSTILE_SSH_CONFIG = {
    "proxy-jump": "Host 127.0.0.1\n  ProxyJump jumper@localhost:1\n",
    "send-env": "Host *\n  SendEnv LC_CLOUDLAB_SENT\n",
    "set-env": "Host *\n  SetEnv LC_CLOUDLAB_SET=from-config\n",
    "match-exec": 'Match exec "touch {ran}"\n',
    "agent-keys-user-auth": (
        "Host *\n  ForwardAgent yes\n  IdentityFile {other_key}\n  IdentitiesOnly yes\n"
        "  User somebody-else\n  PreferredAuthentications password,keyboard-interactive\n"
        "  GSSAPIAuthentication yes\n  HostbasedAuthentication yes\n"
    ),
}


@pytest.mark.parametrize("hostile", list(HOSTILE_SSH_CONFIG), ids=list(HOSTILE_SSH_CONFIG))
async def test_the_users_ssh_setup_changes_nothing_about_a_machine_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: str
) -> None:
    # Given a ~/.ssh/config of the laptop user (HOME points at it), its agent and its environment
    ssh_dir = tmp_path / "laptop-home" / ".ssh"
    ssh_dir.mkdir(parents=True)
    other_key = ssh_dir / "id_other"
    other_key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    other_key.chmod(0o600)
    ran = tmp_path / "config-ran-a-command"
    config = HOSTILE_SSH_CONFIG[hostile].format(ran=ran, other_key=other_key)
    (ssh_dir / "config").write_text(config)
    monkeypatch.setenv("HOME", str(ssh_dir.parent))
    monkeypatch.setenv("LC_CLOUDLAB_SENT", "from-the-laptop")
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))

    async with rig(tmp_path / "rig") as machine:
        # When we connect to a machine, Then it connects straight there, as the machine's user
        connection = await machine.connect()
        assert connection.get_extra_info("username") == machine.user
        result = await connection.run("env", check=True)
        connection.close()

    # And nothing of the user's SSH setup reached the machine, or ran here
    remote_env = str(result.stdout)
    assert "LC_CLOUDLAB" not in remote_env and "SSH_AUTH_SOCK" not in remote_env
    assert not ran.exists()
