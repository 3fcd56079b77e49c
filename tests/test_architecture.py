"""The house of docs/architecture.md holds: imports point down the layers only (contracts in
pyproject.toml), and no file grows past what a reader takes in at once."""

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


# A file longer than this does more than one job: split it by job, not by line count.
MAX_LINES = 400


def test_no_file_past_the_line_limit() -> None:
    # Given the package, its tests and benchmarks (Python) and the panel (TypeScript)
    sources = [
        *REPO.joinpath("jupyter_cloudlab").rglob("*.py"),
        *REPO.joinpath("tests").rglob("*.py"),
        *REPO.joinpath("bench").glob("*.py"),
        *(path for path in REPO.joinpath("src").rglob("*.ts*") if path.name != "api_types.ts"),
        *REPO.joinpath("ui-tests", "tests").glob("*.ts"),
    ]

    # When their lines are counted
    too_long = {
        str(path.relative_to(REPO)): count
        for path in sources
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }

    # Then none is past the limit (api_types.ts is generated from the OpenAPI document)
    assert sources
    assert not too_long, too_long
