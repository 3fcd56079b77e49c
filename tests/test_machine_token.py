"""The machine server's token stays out of what a user saves or prints: a kernel's environment
(``!env`` in a notebook would save it) and the repr of the record the kernel layer keeps."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_cloudlab.kernels.machine_servers import MachineServer
from jupyter_cloudlab.machine_side import cloudlab_server
from tests.helpers.machine_server import MachineServerProcess, start_machine_server_process


def show_secrets(secret: str) -> str:
    """Code that prints the names of environment variables that name a token or hold SECRET."""
    return (
        "import os; print(sorted(k for k, v in os.environ.items() "
        f"if 'TOKEN' in k or {secret!r} in v))"
    )


def test_the_machine_server_record_never_shows_its_token() -> None:
    token = secrets.token_hex(16)
    record = MachineServer("m-1", "box", "http://127.0.0.1:1234", token, "t3.small")
    assert token not in repr(record) and token not in str(record)
    assert "m-1" in repr(record)


@pytest.fixture
def machine_with_token_in_env(tmp_path: Path) -> Iterator[tuple[MachineServerProcess, str]]:
    """A machine server configured as the bootstrap configures it, whose own environment holds a
    token and a token file (as a server started with JUPYTER_TOKEN or JUPYTER_TOKEN_FILE has)."""
    secret = secrets.token_hex(16)
    token_file = tmp_path / "token"
    token_file.write_text(secret)
    module_dir = str(Path(cloudlab_server.__file__).parent)
    server = start_machine_server_process(
        tmp_path / "machine",
        config=cloudlab_server.server_config(),
        env={
            "PYTHONPATH": module_dir,
            "JUPYTER_TOKEN": secret,
            "JUPYTER_TOKEN_FILE": str(token_file),
        },
    )
    yield server, secret
    server.delete_all_kernels()
    server.stop()


async def test_a_kernel_on_the_machine_sees_no_token_in_its_environment(
    machine_with_token_in_env: tuple[MachineServerProcess, str],
) -> None:
    machine, secret = machine_with_token_in_env
    # Given a kernel started on the machine server, as the relay starts one (REST)
    kernel = await machine.fetch("POST", "api/kernels", {"name": "python3"})
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))

    # When the notebook prints its environment, Then neither the token nor its file is there
    result = await channel.execute(show_secrets(secret))
    assert result.reply["status"] == "ok"
    assert result.stdout.strip() == "[]"
    channel.close()

    # And after a restart (which reuses the launch arguments) neither
    await machine.fetch("POST", f"api/kernels/{kernel['id']}/restart")
    channel = await machine.open_channel(kernel["id"], secrets.token_hex(8))
    result = await channel.execute(show_secrets(secret))
    assert result.stdout.strip() == "[]"
    channel.close()
