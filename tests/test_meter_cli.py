"""`jupyter cloudlab list` and `cost` print the meter's figures the server recorded."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from jupyter_cloudlab.json_files import write_json
from jupyter_cloudlab.machines.meter import DiskLine, MeterRecord, Period
from jupyter_cloudlab.machines.meter_report import cost_report, cost_summary, meter_figures


def test_cost_lines_rate_and_spend_from_the_data_folder(tmp_path: Path) -> None:
    # Given a machine that has run for the last two hours at $1/h with a 100 GB gp3 disk
    started = datetime.now(timezone.utc) - timedelta(hours=2)
    record = MeterRecord(
        periods=[Period(start=started, compute_per_hour=1.0)],
        billed_since=started,
        compute_what="compute g5.xlarge on-demand us-east-1",
        compute_per_hour=1.0,
        price_source="api",
        disks=[DiskLine(what="EBS gp3 100 GB", per_month=8.0)],
        public_ipv4_per_hour=0.005,
    )
    write_json(tmp_path / "meter.json", {"m-1": record.model_dump(mode="json")})
    # When the CLI reads it
    figures = meter_figures(tmp_path / "meter.json")
    # Then the list shows the rate and about two hours' spend, and `cost` each line
    assert cost_summary(figures["m-1"]).startswith("$1.0160/h  ≈ $2.03")
    report = cost_report(figures["m-1"])
    assert "compute g5.xlarge on-demand us-east-1      $1.0000/h" in report
    assert "EBS gp3 100 GB" in report and "($8.00/month)" in report
    assert "public IPv4" in report and "$0.0050/h" in report
    assert "compute price: api" in report
    assert cost_summary(figures.get("m-2")) == "no meter yet"
