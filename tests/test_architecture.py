"""The layers of docs/architecture.md hold: imports point down only (contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_imports_point_down_the_layers() -> None:
    # Given the contracts of pyproject.toml (layers, the kernel layer off SSH and cloud, boto3
    # in the cloud layer only)
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency: pip install -e '.[dev]'"

    # When import-linter reads the package
    run = subprocess.run(
        [lint_imports, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )

    # Then every contract is kept
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
