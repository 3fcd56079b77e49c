"""Round trip of execute_request('1+1') -> execute_reply, and output throughput (20 x 1 MB and one
50 MB display_data), for a local kernel (a) vs a sandbox machine's kernel through the local
server, the SSH forward and the machine's server (b); and whether one 100 MB output arrives.

Both are measured in the same run, taking turns in short blocks (these machines are noisy, and
their load drifts over seconds); prints median, p95 and b/a. With
OpenSSH's forward it also measures (c): the machine's server straight through the forward, without
the local relay, so c/a is the tunnel's share of the cost and b against c the relay's. The
client speaks JupyterLab 4's v1 websocket protocol (or the legacy one) and the machine's sshd is
OpenSSH's when this runs as root with /usr/sbin/sshd (as on a real machine: a separate process),
else the sandbox's in-process asyncssh server (which then shares the local server's CPU).
Throughput is the median of 5 runs of each case; "cores busy" is the CPU time of the whole host
per second during the 20 x 1 MB runs (all processes run on this host here: when it nears the core
count, (b) waits on CPU rather than on the path). "CPU by side" splits what the processes spent per
round trip and per 20 x 1 MB into the laptop's side and the machine's (bench/process_cpu.py): on
AWS the machine's side runs on the machine, so laptop b/a is a machine kernel's cost to the laptop.
Usage: python bench/kernel_round_trip.py [--n 300] [--warmup 30] [--big-mb 100]
       [--protocol v1|legacy] [--sshd openssh|asyncssh] [--forward asyncssh|openssh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
import uuid
from pathlib import Path

import websocket  # websocket-client
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from process_cpu import LAPTOP, MACHINE, CpuBySide
from sandbox_server import Jupyter, Server

V1 = "v1.kernel.websocket.jupyter.org"
MB = "'x' * 1_000_000"
THROUGHPUT_REPEATS = 5
RT_BLOCK = 30


def connect(server: Jupyter, kernel_id: str, protocol: str) -> websocket.WebSocket:
    url = f"ws://localhost/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    ws = websocket.create_connection(
        url,
        header=[f"Authorization: token {server.token}"],
        socket=server.connect_socket(),  # TCP_NODELAY set on a TCP one
        skip_utf8_validation=True,
        subprotocols=[V1] if protocol == "v1" else None,
    )
    assert (ws.getsubprotocol() or "legacy") == (V1 if protocol == "v1" else "legacy")
    return ws


def send(ws: websocket.WebSocket, message: dict) -> None:
    if ws.getsubprotocol() == V1:
        parts = [json.dumps(message[k]).encode() for k in ("header", "parent_header", "metadata")]
        parts.append(json.dumps(message["content"]).encode())
        ws.send_binary(serialize_msg_to_ws_v1(parts, message["channel"]))
    else:
        ws.send(json.dumps(message))


def receive_frame(ws: websocket.WebSocket) -> bytes | str:
    """The next message, its fragments joined once: websocket-client's own ``recv`` appends each
    fragment to the bytes so far (quadratic for a 50 MB message in 200 fragments), where a
    browser does not; the client must not be what is measured."""
    parts: list[bytes] = []
    opcode = None
    while True:
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_PING:
            ws.pong(frame.data)
            continue
        if frame.opcode == websocket.ABNF.OPCODE_PONG:
            continue
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            raise websocket.WebSocketConnectionClosedException("closed by the server")
        opcode = opcode or frame.opcode
        parts.append(frame.data)
        if frame.fin:
            data = b"".join(parts)
            return data.decode() if opcode == websocket.ABNF.OPCODE_TEXT else data


def receive(ws: websocket.WebSocket) -> tuple[dict, int]:
    """The next message (its type, parent msg_id and content) and the size of its frame."""
    frame = receive_frame(ws)
    if ws.getsubprotocol() == V1:
        _, parts = deserialize_msg_from_ws_v1(frame)
        header, parent = json.loads(parts[0]), json.loads(parts[1])
        # Output content is parsed like a client would (the big part of each frame).
        content = json.loads(parts[3])
    else:
        reply = json.loads(frame)
        header, parent, content = reply["header"], reply["parent_header"], reply["content"]
    return {
        "msg_type": header["msg_type"],
        "parent": parent.get("msg_id"),
        "content": content,
    }, len(frame)


def execute(ws: websocket.WebSocket, session: str, code: str) -> tuple[float, int]:
    """Seconds from execute_request until execute_reply and idle; bytes of frames received."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "bench",
            "session": session,
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": {},
        "channel": "shell",
        "buffers": [],
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "allow_stdin": False,
            "user_expressions": {},
        },
    }
    started = time.perf_counter()
    send(ws, message)
    received, replied, idle = 0, False, False
    while not (replied and idle):
        reply, size = receive(ws)
        received += size
        if reply["parent"] != msg_id:
            continue
        if reply["msg_type"] == "execute_reply":
            replied = True
        elif reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            idle = True
    return time.perf_counter() - started, received


class Route:
    """One of the compared paths: a kernel of ``server`` and a client socket to it."""

    def __init__(
        self,
        label: str,
        server: Jupyter,
        kernel_name: str,
        protocol: str,
        instance_id: str,
        notebook: str | None = None,
        mirror: tuple[str, bool] | None = None,
    ) -> None:
        self.label = label
        self.server = server
        self.mirror = mirror
        """(machine id, on): the machine's workspace mirror is set so before each block."""
        self.prepare()
        if notebook is None:
            self.kernel = server.request("POST", "api/kernels", {"name": kernel_name})
        else:  # as JupyterLab opens a notebook: its folder is mirrored, its cells pushed
            body = {"path": notebook, "type": "notebook", "kernel": {"name": kernel_name}}
            body["name"] = notebook.rsplit("/", 1)[-1]
            self.kernel = server.request("POST", "api/sessions", body)["kernel"]
        self.ws = connect(server, self.kernel["id"], protocol)
        self.session = uuid.uuid4().hex
        self.round_trips: list[float] = []
        self.many: list[float] = []
        self.one: list[float] = []
        self.busy_seconds = self.wall_seconds = 0.0
        self.round_trip_cpu = CpuBySide(instance_id)
        self.many_cpu = CpuBySide(instance_id)
        self.big_delivered = False

    def execute(self, code: str) -> tuple[float, int]:
        return execute(self.ws, self.session, code)

    def prepare(self) -> None:
        if self.mirror is not None:
            machine_id, on = self.mirror
            path = f"cloudlab/api/machines/{machine_id}"
            self.server.request("PATCH", path, {"mirror": on})

    def close(self) -> None:
        self.ws.close()
        self.server.request("DELETE", f"api/kernels/{self.kernel['id']}")


SHOW = "from IPython.display import display\n"
MANY = SHOW + f"for _ in range(20): display({{'text/plain': {MB}}}, raw=True)"
ONE = SHOW + f"display({{'text/plain': 50 * {MB}}}, raw=True)"


def measure(paths: list[Route], n: int, warmup: int, big_mb: int, throughput: bool = True) -> None:
    """Each case runs on the paths in turn, in short blocks, so the host's load, which drifts
    over seconds here, weighs on every path alike and the ratios compare like with like."""
    for path in paths:
        for _ in range(warmup):
            path.execute("1+1")
        path.execute(SHOW)
    for _ in range(n // RT_BLOCK):
        for path in paths:
            path.prepare()
            path.round_trip_cpu.start()
            path.round_trips += [path.execute("1+1")[0] for _ in range(RT_BLOCK)]
            path.round_trip_cpu.stop()
    if not throughput:
        return
    for path in paths:
        path.prepare()
    for _ in range(THROUGHPUT_REPEATS):
        for path in paths:
            busy_before, started = cpu_seconds(), time.perf_counter()
            path.many_cpu.start()
            path.many.append(path.execute(MANY)[0])
            path.many_cpu.stop()
            path.busy_seconds += cpu_seconds() - busy_before
            path.wall_seconds += time.perf_counter() - started
        for path in paths:
            path.one.append(path.execute(ONE)[0])
    big = SHOW + f"display({{'text/plain': 'x' * {big_mb}_000_000}}, raw=True)"
    for path in paths:
        path.big_delivered = path.execute(big)[1] >= big_mb * 1_000_000


def cpu_seconds() -> float:
    """CPU time used so far by every process of this host, all cores together (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def summary(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--big-mb", type=int, default=100)
    parser.add_argument("--protocol", choices=["v1", "legacy"], default="v1")
    openssh = os.geteuid() == 0 and Path("/usr/sbin/sshd").exists()
    parser.add_argument(
        "--sshd", choices=["openssh", "asyncssh"], default="openssh" if openssh else "asyncssh"
    )
    parser.add_argument(  # as the server's default, ssh_forward="auto"
        "--forward",
        choices=["asyncssh", "openssh"],
        default="openssh" if shutil.which("ssh") else "asyncssh",
    )
    parser.add_argument(
        "--mirror",
        action="store_true",
        help="add (d): a machine kernel for a notebook whose folder is mirrored (its cells pushed "
        "first), against (b) with the machine's mirror off",
    )
    parser.add_argument("--round-trip-only", action="store_true", help="skip the throughput")
    args = parser.parse_args()
    print(f"protocol {args.protocol}, machine sshd {args.sshd}, forward by {args.forward}")
    server = Server(args.sshd, args.forward)
    paths: list[Route] = []
    try:
        machine = server.launch_machine()
        instance = machine["instance_id"]
        paths.append(Route("(a) local kernel       ", server, "python3", args.protocol, instance))
        remote = machine["kernelspecs"][0]
        mirror_off = (machine["id"], False) if args.mirror else None
        paths.append(
            Route(
                "(b) machine via tunnel ", server, remote, args.protocol, instance, None, mirror_off
            )
        )
        if args.mirror:
            notebook = _project(Path(server.dir))
            label, on = "(d) (b), mirror on     ", (machine["id"], True)
            paths.append(Route(label, server, remote, args.protocol, instance, notebook, on))
        direct = server.machine_server_through_forward()
        if direct is not None:
            label = "(c) (b) minus the relay"
            paths.append(Route(label, direct, "python3", args.protocol, instance))
        measure(paths, args.n, args.warmup, args.big_mb, not args.round_trip_only)
        for path in paths:
            path.close()
        server.request("DELETE", f"cloudlab/api/machines/{machine['id']}")
    finally:
        server.stop()
    report(paths, args.big_mb)


def _project(root: Path) -> str:
    """A notebook beside 200 small files and a data folder: what a mirrored cell checks."""
    folder = root / "project"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for i in range(200):
        (folder / f"module_{i}.py").write_text(f"X = {i}\n")
    (folder / "data" / "train.csv").write_text("a,b\n" * 1000)
    (folder / "analysis.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    return "project/analysis.ipynb"


def report(paths: list[Route], big_mb: int) -> None:
    a, b = paths[0], paths[1]
    n = len(a.round_trips)
    print(f"execute round trip, N={n} per path, interleaved in blocks of {RT_BLOCK}")
    for path in paths:
        median, p95 = summary(path.round_trips)
        print(f"  {path.label} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    base_median, base_p95 = summary(a.round_trips)
    for path in paths[1:]:
        median, p95 = summary(path.round_trips)
        print(f"  {path.label[1]}/a median {median / base_median:.2f}   p95 {p95 / base_p95:.2f}")
    mirrored = [p for p in paths if p.label.startswith("(d)")]
    if mirrored:  # the mirror's goal: d/b <= 1.05
        (d_median, d_p95), (b_median, b_p95) = (
            summary(mirrored[0].round_trips),
            summary(b.round_trips),
        )
        print(f"  mirror on/off (d/b) median {d_median / b_median:.2f}   p95 {d_p95 / b_p95:.2f}")
    if not a.many:
        return  # --round-trip-only
    print(
        f"throughput (MB/s, median of {THROUGHPUT_REPEATS}, interleaved): 20 x 1 MB display_data"
        " | one 50 MB display_data"
    )
    rates = {
        p.label: (20 / statistics.median(p.many), 50 / statistics.median(p.one)) for p in paths
    }
    for path in paths:
        many, one = rates[path.label]
        print(f"  {path.label} {many:8.1f} | {one:8.1f}")
    base_many, base_one = rates[a.label]
    for path in paths[1:]:
        many, one = rates[path.label]
        print(f"  {path.label[1]}/a {many / base_many:.2f} | {one / base_one:.2f}")
    # Everything runs on this one host here (on AWS the machine's half runs on the machine): when
    # the busy cores reach the host's count, (b) waits on CPU, not on the path.
    busy = ", ".join(f"{p.label.split()[0]} {p.busy_seconds / p.wall_seconds:.1f}" for p in paths)
    print(f"  cores busy during 20 x 1 MB: {busy} (this host has {os.cpu_count()})")
    report_cpu_by_side(paths)
    print(f"single {big_mb} MB output delivered: (a) {a.big_delivered}  (b) {b.big_delivered}")


def report_cpu_by_side(paths: list[Route]) -> None:
    """What each side's processes spent per round trip and per 20 x 1 MB: on AWS the machine's
    side runs on the machine, so laptop b/a is what a machine kernel costs the laptop."""
    print("CPU by side (ms; laptop: local server, its kernels, ssh, client; machine: the rest)")
    per_case = {
        "round trip": lambda p: (p.round_trip_cpu.seconds, len(p.round_trips)),
        "20 x 1 MB": lambda p: (p.many_cpu.seconds, len(p.many)),
    }
    for case, spent in per_case.items():
        line = []
        for path in paths:
            seconds, count = spent(path)
            line.append(
                f"{path.label[:3]} laptop {seconds[LAPTOP] / count * 1000:.3g}"
                f" machine {seconds[MACHINE] / count * 1000:.3g}"
            )
        laptop_a = spent(paths[0])[0][LAPTOP] / spent(paths[0])[1]
        laptop_b = spent(paths[1])[0][LAPTOP] / spent(paths[1])[1]
        print(f"  {case:10}: {' | '.join(line)} | laptop b/a {laptop_b / laptop_a:.2f}")


if __name__ == "__main__":
    main()
