"""GPU detection from recorded nvidia-smi output (formats of real drivers 535-560)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_cloudlab.ssh.bootstrap import parse_result
from jupyter_cloudlab.ssh.gpu import parse_nvidia_smi, short_model

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia_smi"


def _parse(name: str):
    return parse_nvidia_smi(
        (FIXTURES / f"{name}.csv").read_text(), (FIXTURES / f"{name}.txt").read_text()
    )


@pytest.mark.parametrize(
    ("name", "label", "count", "memory_mib", "driver", "cuda"),
    [
        ("a10g", "A10G 24 GB", 1, 23028, "535.183.01", "12.2"),
        ("4xa10g", "4× A10G 24 GB", 4, 23028, "535.183.01", "12.2"),
        ("t4", "T4 16 GB", 1, 15360, "550.90.07", "12.4"),
        ("h100", "H100 80 GB", 1, 81559, "560.35.03", "12.6"),
    ],
)
def test_recorded_outputs(name, label, count, memory_mib, driver, cuda) -> None:
    gpu = _parse(name)
    assert gpu is not None
    assert (gpu.label, gpu.count, gpu.memory_mib, gpu.driver, gpu.cuda) == (
        label,
        count,
        memory_mib,
        driver,
        cuda,
    )


def test_nvidia_smi_without_a_driver_is_a_cpu_machine() -> None:
    assert _parse("no_driver") is None
    assert parse_nvidia_smi("") is None


def test_model_names() -> None:
    assert short_model("NVIDIA A100-SXM4-40GB") == "A100"
    assert short_model("Tesla V100-SXM2-16GB") == "V100"
    assert short_model("NVIDIA L40S") == "L40S"
    assert short_model("NVIDIA RTX A6000") == "RTX A6000"


def test_bootstrap_result_carries_the_gpu_and_hides_the_token() -> None:
    query = (FIXTURES / "4xa10g.csv").read_text()
    header = (FIXTURES / "4xa10g.txt").read_text()
    import json

    line = json.dumps({"port": 1, "token": "s3cret", "gpu": {"query": query, "header": header}})
    bootstrapped = parse_result("noise\nCLOUDLAB-RESULT " + line + "\n")
    assert bootstrapped.gpu_label == "4× A10G 24 GB"
    assert "s3cret" not in repr(bootstrapped)
    no_gpu = parse_result('CLOUDLAB-RESULT {"port": 1, "token": "t", "gpu": null}')
    assert no_gpu.gpu_label == "CPU"
