"""What CloudLab's modules log appears in the Jupyter server's log, as the user's console shows
it (before, their INFO lines such as "machine ready" reached no handler and were lost)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def jp_server_config(cloudlab_data_dir: Path) -> dict[str, Any]:
    """The extension on; nothing is started (pytest-jupyter runs no start hooks)."""
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_cloudlab": True}},
        "CloudLab": {"mode": "sandbox", "data_dir": str(cloudlab_data_dir)},
    }


@pytest.fixture
def server_console(jp_serverapp: Any) -> Iterator[io.StringIO]:
    """A console handler of the server's log, formatted as `jupyter lab` formats its console."""
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    handler.setFormatter(
        jp_serverapp._log_formatter_cls(
            fmt=jp_serverapp.log_format, datefmt=jp_serverapp.log_datefmt
        )
    )
    jp_serverapp.log.addHandler(handler)
    yield console
    jp_serverapp.log.removeHandler(handler)


def test_a_modules_info_line_appears_in_the_server_log(server_console: io.StringIO) -> None:
    # Given a server with CloudLab on
    # When a module of ours logs an INFO line
    logging.getLogger("jupyter_cloudlab.machines.orchestrator").info("machine %s ready", "m-1")

    # Then the server's log shows it once, with the module's name
    lines = server_console.getvalue().splitlines()
    shown = [line for line in lines if "machine m-1 ready" in line]
    assert len(shown) == 1, lines
    assert "jupyter_cloudlab.machines.orchestrator" in shown[0]


def test_the_servers_level_applies(jp_serverapp: Any, server_console: io.StringIO) -> None:
    # Given a server logging at DEBUG (as `--debug` asks; pytest-jupyter's default)
    assert jp_serverapp.log.getEffectiveLevel() == logging.DEBUG

    # When a module logs at DEBUG
    logging.getLogger("jupyter_cloudlab.ssh.tunnel").debug("a detail")

    # Then the server's log shows it too
    assert "a detail" in server_console.getvalue()


def test_the_root_logger_is_left_alone(jp_serverapp: Any) -> None:
    # Given a server with CloudLab on
    # Then nothing of ours was attached to the root logger
    root = logging.getLogger()
    assert not any(type(h).__module__.startswith("jupyter_cloudlab") for h in root.handlers)
