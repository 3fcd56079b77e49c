"""The machine's GPUs, from what nvidia-smi printed on it (the bootstrap runs it; we parse here).

    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
        NVIDIA A10G, 23028 MiB, 535.183.01
    nvidia-smi      (the header's "CUDA Version: 12.2": the driver's highest supported CUDA)

No nvidia-smi, or one that cannot talk to a driver, means a CPU machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CUDA = re.compile(r"CUDA Version:\s*([0-9.]+)")
_DRIVER = re.compile(r"Driver Version:\s*([0-9.]+)")
_NOISE = re.compile(r"^(NVIDIA|Tesla|\d+GB|HBM\w*|PCIe|SXM\w*|NVL|GeForce)$", re.IGNORECASE)
NOMINAL_GB = (4, 8, 12, 16, 24, 32, 40, 48, 80, 94, 96, 141, 144, 180, 192)
"""Sizes GPUs are sold by: nvidia-smi reports usable MiB (an A10G shows 23028 MiB, sold as 24)."""


@dataclass(frozen=True)
class MachineGpu:
    model: str
    count: int
    memory_mib: int
    """Per GPU, as nvidia-smi reports it."""
    driver: str
    cuda: str | None

    @property
    def memory_gb(self) -> int:
        gib = self.memory_mib / 1024
        return next((size for size in NOMINAL_GB if gib <= size), round(gib))

    @property
    def label(self) -> str:
        """ "A10G 24 GB", "4× A10G 24 GB": like the instance-type catalog's label."""
        count = f"{self.count}× " if self.count > 1 else ""
        return f"{count}{self.model} {self.memory_gb} GB"


def short_model(name: str) -> str:
    """ "NVIDIA H100 80GB HBM3" -> "H100"; "Tesla T4" -> "T4"; "NVIDIA A100-SXM4-40GB" -> "A100"."""
    tokens = [t for t in re.split(r"[\s-]+", name.strip()) if t and not _NOISE.match(t)]
    return " ".join(tokens) or name.strip()


def parse_nvidia_smi(query: str, header: str = "") -> MachineGpu | None:
    rows = []
    for line in query.strip().splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 3 or not fields[1].split()[0].isdigit():
            continue  # an error message ("NVIDIA-SMI has failed ..."), not a GPU row
        rows.append((fields[0], int(fields[1].split()[0]), fields[2]))
    if not rows:
        return None
    cuda = _CUDA.search(header)
    driver = rows[0][2] or (m.group(1) if (m := _DRIVER.search(header)) else "")
    return MachineGpu(
        model=short_model(rows[0][0]),
        count=len(rows),
        memory_mib=rows[0][1],
        driver=driver,
        cuda=cuda.group(1) if cuda else None,
    )
