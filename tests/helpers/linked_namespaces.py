"""Two network namespaces joined by a veth pair, for tests that cut a real link.

Root and iproute2 only. Names are unique per process and call (``cl<pid><n>a``/``...b``), the
addresses (``10.<x>.<y>.1/30`` in A, ``.2/30`` in B) exist only inside these namespaces, and the
namespaces (with the veth pair and every process still inside them) are always removed on exit.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from jupyter_cloudlab.pytest_plugin import cloudlab_require

IP = "ip"
_counter = itertools.count()


def available() -> bool:
    """Root, ``ip`` and ``unshare``: what creating namespaces and a private sshd needs."""
    return (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which(IP) is not None
        and shutil.which("unshare") is not None
    )


def require() -> None:
    """Skip where namespaces can't be made; in CI that is a failure (CI runs as root)."""
    cloudlab_require(
        available(),
        "network namespaces need root, iproute2 (ip) and unshare",
        "run as root with iproute2 installed",
    )


def _ip(*args: str) -> None:
    subprocess.run([IP, *args], check=True, capture_output=True, timeout=30)


@dataclass
class LinkedNamespaces:
    """Namespace ``a`` holds ``dev_a`` with ``addr_a``; ``b`` holds ``dev_b`` with ``addr_b``."""

    a: str
    b: str
    dev_a: str
    dev_b: str
    addr_a: str
    addr_b: str

    def exec_prefix(self, ns: str) -> list[str]:
        """argv prefix that runs a command inside ``ns``."""
        return [IP, "netns", "exec", ns]

    def cut(self, ns: str | None = None) -> None:
        """Take the link down (B's end by default: the laptop loses its network)."""
        ns = ns or self.b
        _ip("-n", ns, "link", "set", self.dev_a if ns == self.a else self.dev_b, "down")

    def restore(self, ns: str | None = None) -> None:
        ns = ns or self.b
        _ip("-n", ns, "link", "set", self.dev_a if ns == self.a else self.dev_b, "up")


def _pids_in(ns: str) -> list[int]:
    result = subprocess.run(
        [IP, "netns", "pids", ns], capture_output=True, text=True, timeout=30, check=False
    )
    return [int(p) for p in result.stdout.split() if p.isdigit() and int(p) != os.getpid()]


def _kill_all_in(ns: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        pids = _pids_in(ns)
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


@contextlib.contextmanager
def linked_namespaces() -> Iterator[LinkedNamespaces]:
    """Create A and B, a veth pair between them with a /30, everything up; remove all on exit."""
    require()
    n = next(_counter)
    pid = os.getpid()
    base = f"cl{pid}{n}"
    x, y = (pid >> 8) % 250 + 1, (pid + n * 4) % 64 * 4
    links = LinkedNamespaces(
        a=f"{base}a",
        b=f"{base}b",
        dev_a=f"{base}va"[-15:],  # interface names: 15 characters at most
        dev_b=f"{base}vb"[-15:],
        addr_a=f"10.{x}.{y}.1",
        addr_b=f"10.{x}.{y}.2",
    )
    created: list[str] = []
    try:
        for ns in (links.a, links.b):
            _ip("netns", "add", ns)
            created.append(ns)
        # Made in A and its peer moved to B: the pair never lives in the host namespace.
        _ip("-n", links.a, "link", "add", links.dev_a, "type", "veth", "peer", "name", links.dev_b)
        _ip("-n", links.a, "link", "set", links.dev_b, "netns", links.b)
        for ns, dev, addr in (
            (links.a, links.dev_a, links.addr_a),
            (links.b, links.dev_b, links.addr_b),
        ):
            _ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
        yield links
    finally:
        for ns in reversed(created):
            _kill_all_in(ns)
            # Deleting a namespace deletes the veth end inside it, and with it the peer.
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                _ip("netns", "delete", ns)
