"""The meter's figures for a terminal (`jupyter cloudlab list` and `cost`), from what the
server recorded in the data folder: EC2 is asked nothing more, so a machine's running period
counts until now."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import meter
from .meter_service import read_records


def meter_figures(path: Path) -> dict[str, dict[str, Any]]:
    """Each recorded machine's `Machine` cost fields, as of now."""
    now = datetime.now(timezone.utc)
    return {key: meter.machine_fields(r, now) for key, r in read_records(path).items()}


def _usd(value: float | None, digits: int = 4) -> str:
    return "?" if value is None else f"${value:.{digits}f}"


def cost_summary(figures: dict[str, Any] | None) -> str:
    """'$1.0220/h  ≈ $0.0072 so far', or what is unknown."""
    if not figures:
        return "no meter yet"
    return f"{_usd(figures['hourly_cost'])}/h  ≈ {_usd(figures['spent_usd'])} so far"


def cost_report(figures: dict[str, Any] | None, as_json: bool = False) -> str:
    """The cost lines, the running rate, what its disks cost stopped, what it spent."""
    if not figures:
        return "The meter has no record of this machine yet (JupyterLab records it)."
    if as_json:
        lines = [line.model_dump() for line in figures["cost_lines"]]
        return json.dumps({**figures, "cost_lines": lines}, indent=1)
    rows = []
    for line in figures["cost_lines"]:
        monthly = f"  ({_usd(line.per_month, 2)}/month)" if line.per_month is not None else ""
        rows.append(f"{line.what:<42} {_usd(line.per_hour)}/h{monthly}")
    rows.append(f"{'while running':<42} {_usd(figures['hourly_cost'])}/h")
    rows.append(f"{'while stopped':<42} {_usd(figures['stopped_cost_per_month'], 2)}/month")
    rows.append(f"{'spent since launch':<42} ≈ {_usd(figures['spent_usd'])}")
    rows.append(f"{'spent today':<42} ≈ {_usd(figures['spent_today_usd'])}")
    rows.append(f"compute price: {figures['price_source']}")
    return "\n".join(rows)
