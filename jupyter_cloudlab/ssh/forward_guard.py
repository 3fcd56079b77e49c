"""`python -m jupyter_cloudlab.ssh.forward_guard -- CMD...`: run CMD until our stdin closes.

The server that starts a forward keeps this process's stdin open; when that server ends, even by
SIGKILL, the pipe reaches EOF and CMD (OpenSSH's client) is ended with it, so no forward outlives
its server. CMD's own stdin is a pipe that never closes (ssh must not see EOF on it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        print(
            "usage: python -m jupyter_cloudlab.ssh.forward_guard -- CMD [ARG...]", file=sys.stderr
        )
        return 2
    child = subprocess.Popen(argv[1:], stdin=subprocess.PIPE)

    def end_child(*_: object) -> None:
        if child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, lambda *_: end_child())

    def watch_lifeline() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the server is gone
        end_child()

    threading.Thread(target=watch_lifeline, daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
