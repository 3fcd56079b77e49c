"""When a test runs close to pytest-timeout's limit, print where every asyncio task waits.

pytest-timeout dumps thread stacks, which for a hung event loop only shows the selector; the
tasks' own stacks say which await never returns (a teardown hang was seen once and never
reproduced: this is what would explain it next time).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Iterator

import pytest

WARN_BEFORE_TIMEOUT_SECONDS = 20


def _print_pending_tasks(test_id: str) -> None:
    tasks = [item for item in gc.get_objects() if isinstance(item, asyncio.Task)]
    pending = [task for task in tasks if not task.done()]
    print(
        f"\n=== {test_id}: close to the timeout; {len(pending)} asyncio tasks pending ===",
        file=sys.stderr,
    )
    for task in pending:
        print(f"--- {task!r}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
    sys.stderr.flush()


@pytest.fixture(autouse=True)
def report_hangs(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("timeout")
    timeout = float(marker.args[0]) if marker and marker.args else None
    timeout = timeout or float(
        request.config.getoption("timeout", None) or request.config.getini("timeout") or 0
    )
    if timeout <= WARN_BEFORE_TIMEOUT_SECONDS:
        yield
        return
    timer = threading.Timer(
        timeout - WARN_BEFORE_TIMEOUT_SECONDS, _print_pending_tasks, args=(request.node.nodeid,)
    )
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
