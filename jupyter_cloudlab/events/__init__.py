"""jupyter_events schemas of the extension; the panel listens to them."""

from __future__ import annotations

from pathlib import Path

MACHINE_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_cloudlab/machine/v1"
MACHINE_EVENT_SCHEMA = Path(__file__).parent / "machine.yaml"
CONNECTION_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_cloudlab/connection/v1"
CONNECTION_EVENT_SCHEMA = Path(__file__).parent / "connection.yaml"
WORKSPACE_EVENT_SCHEMA_ID = "https://events.jupyter.org/jupyter_cloudlab/workspace/v1"
WORKSPACE_EVENT_SCHEMA = Path(__file__).parent / "workspace.yaml"
