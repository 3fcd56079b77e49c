"""Runs ON the machine: a jupyter_server extension of the machine server (uploaded with it, see
cloudlab_server.MODULES; enabled by ``server_config``). It guards the bill without the laptop and
without AWS credentials: when the machine is idle for ``idle_minutes`` (see cloudlab_idle for what
counts), or its deadline (the budget) comes, it writes ``~/.cloudlab/shutdown.json``
``{reason, at, detail}`` and powers off with ``shutdown -h`` (the launch sets
``InstanceInitiatedShutdownBehavior=stop``: an EC2 stop). It also watches for a spot interruption
notice and writes a line into every running cell's output.

Routes (the server's token, like the rest of it):

* ``GET /cloudlab/guard``: idle since, stops at, warning, why it is busy, the spot notice;
* ``PUT /cloudlab/guard`` ``{idle_minutes?, stop_at?, keep_until?, stop_after_cell?}``: applied at
  once, kernels untouched; kept in ``~/.cloudlab/guard.json`` so a restarted server keeps them.

Budget and keep-alive together: ``stop_at`` (the budget) is a hard deadline, reached even by a
busy machine; ``keep_until`` only holds off the idle stop, never the deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import PeriodicCallback

try:  # a package module (tests) or loaded beside it on the machine (see cloudlab_server.MODULES)
    from . import cloudlab_idle as idle
    from . import cloudlab_spot as spot
except ImportError:
    import cloudlab_idle as idle  # type: ignore[no-redef]
    import cloudlab_spot as spot  # type: ignore[no-redef]

CONFIG_SECTION = "CloudLabGuard"
DEFAULT_POWER_OFF = (("sudo", "-n", "shutdown", "-h", "now"), ("shutdown", "-h", "now"))
TICK_S = 5.0
SPOT_EVERY_S = 5.0  # AWS's advice: the notice comes two minutes ahead
RETRY_POWER_OFF_S = 60.0
MAX_IDLE_MINUTES = 7 * 24 * 60
log = logging.getLogger("cloudlab_guard")


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc).isoformat()


def _epoch(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    raise web.HTTPError(400, reason=f"{name} must be a date and time with its zone, or null.")


def parse_settings(body: Any, current: idle.Settings) -> idle.Settings:
    """The current settings with the body's changes; a 400 with a sentence for bad input."""
    if not isinstance(body, dict):
        raise web.HTTPError(400, reason="Send a JSON object.")
    unknown = set(body) - {"idle_minutes", "stop_at", "keep_until", "stop_after_cell"}
    if unknown:
        raise web.HTTPError(400, reason=f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    changes: dict[str, Any] = {}
    if "idle_minutes" in body:
        minutes = body["idle_minutes"]
        valid = isinstance(minutes, (int, float)) and not isinstance(minutes, bool)
        if not valid or not 0 <= minutes <= MAX_IDLE_MINUTES:
            raise web.HTTPError(
                400, reason=f"idle_minutes must be a number from 0 (off) to {MAX_IDLE_MINUTES}."
            )
        changes["idle_minutes"] = float(minutes)
    for name in ("stop_at", "keep_until"):
        if name in body:
            changes[name] = _epoch(body[name], name)
    if "stop_after_cell" in body:
        if not isinstance(body["stop_after_cell"], bool):
            raise web.HTTPError(400, reason="stop_after_cell must be true or false.")
        changes["stop_after_cell"] = body["stop_after_cell"]
    return replace(current, **changes)


class Guard:
    def __init__(self, serverapp: Any, config: dict[str, Any]) -> None:
        self._app = serverapp
        self.state_dir = Path(os.path.expanduser(str(config.get("state_dir", "~/.cloudlab"))))
        self.settings_file = self.state_dir / "guard.json"
        self.shutdown_file = self.state_dir / "shutdown.json"
        self.transfer_marker = str(self.state_dir / "transfer-active")
        commands = config.get("power_off_commands") or DEFAULT_POWER_OFF
        self.power_off_commands = [list(map(str, c)) for c in commands]
        self.tick_s = float(config.get("tick_seconds", TICK_S))
        gpu_command = config.get("gpu_command")
        gpu_every = float(config.get("gpu_every_seconds", idle.GPU_EVERY_S))
        self.gpu = idle.GpuProbe(tuple(gpu_command or idle.GPU_QUERY), gpu_every)
        self.spot = spot.SpotWatch(str(config.get("imds_url", spot.IMDS_URL)))
        self.settings = self._load(
            idle.Settings(idle_minutes=float(config.get("idle_minutes", 30)))
        )
        self.started = time.time()
        self._last_busy = 0.0
        self._status: dict[str, Any] = {}
        self._spot_notice: dict | None = None
        self._stopping: str | None = None
        self._power_off_tried = 0.0
        self._callbacks: list[PeriodicCallback] = []

    def _load(self, defaults: idle.Settings) -> idle.Settings:
        """The saved settings, less what a start undoes: a deadline that already came and "stop
        after the cell" were enforced before this boot (else a restarted machine would power off
        at once, before the laptop can send its budget's new deadline or the user raise it)."""
        try:
            saved = json.loads(self.settings_file.read_text())
            loaded = replace(defaults, **{k: v for k, v in saved.items() if k in asdict(defaults)})
        except (OSError, ValueError, TypeError):
            return defaults
        passed = loaded.stop_at is not None and loaded.stop_at <= time.time()
        return replace(loaded, stop_at=None if passed else loaded.stop_at, stop_after_cell=False)

    def apply(self, settings: idle.Settings) -> None:
        self.settings = settings
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.settings_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(settings)))
        os.replace(temporary, self.settings_file)

    def start(self) -> None:
        self._callbacks = [
            PeriodicCallback(self.tick, self.tick_s * 1000),
            PeriodicCallback(self.watch_spot, SPOT_EVERY_S * 1000),
        ]
        for callback in self._callbacks:
            callback.start()

    def stop(self) -> None:
        for callback in self._callbacks:
            callback.stop()

    def _terminal_pids(self) -> list[int]:
        manager = self._app.web_app.settings.get("terminal_manager")
        terminals = getattr(manager, "terminals", {}) or {}
        return [t.ptyproc.pid for t in terminals.values() if getattr(t, "ptyproc", None)]

    async def tick(self) -> None:
        now = time.time()
        kernels = list(getattr(self._app.kernel_manager, "_kernels", {}).values())
        kernel_busy, kernel_last = idle.kernel_signals(kernels)
        busy = ["a cell runs"] if kernel_busy else []
        if idle.transfer_active(self.transfer_marker, now):
            busy.append("the workspace mirror is transferring")
        if not busy:  # nvidia-smi costs a process: asked only when it can decide
            loop = asyncio.get_running_loop()
            used = await loop.run_in_executor(None, self.gpu.utilisation, now)
            if used and max(used) >= idle.GPU_BUSY_PERCENT:
                busy.append(f"GPU {max(used)}% busy")
        if busy:
            self._last_busy = now
        last = max(
            self.started, kernel_last, idle.terminal_input(self._terminal_pids()), self._last_busy
        )
        decision = idle.decide(now, self.settings, idle.Signals(kernel_busy, tuple(busy), last))
        self._status = {
            "idle_minutes": self.settings.idle_minutes,
            "stop_at": _iso(self.settings.stop_at),
            "keep_until": _iso(self.settings.keep_until),
            "stop_after_cell": self.settings.stop_after_cell,
            "idle_since": _iso(decision.idle_since),
            "stops_at": _iso(decision.stops_at),
            "busy": busy,
            "warning": decision.warning,
            "spot": self._spot_notice,
            "checked_at": _iso(now),
        }
        if decision.reason is not None:
            await self.power_off(decision.reason, self._detail(decision.reason, busy))

    def _detail(self, reason: str, busy: list[str]) -> str:
        if reason == "budget":
            extra = f" while busy ({', '.join(busy)})" if busy else ""
            return f"Its budget deadline came{extra}."
        if reason == "after_cell":
            return "The running cell finished, as asked."
        return f"Idle for {self.settings.idle_minutes:g} minute(s): no cell, terminal input, transfer or GPU use."

    async def power_off(self, reason: str, detail: str) -> None:
        """Write why, then power off (the first command that succeeds); tried again a minute
        later when none does."""
        now = time.time()
        if self._stopping is not None and now - self._power_off_tried < RETRY_POWER_OFF_S:
            return
        self._stopping, self._power_off_tried = reason, now
        self._status["reason"] = reason
        record = {"reason": reason, "at": _iso(now), "detail": detail}
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.shutdown_file.write_text(json.dumps(record))
        log.warning("CloudLab guard: powering off (%s): %s", reason, detail)
        loop = asyncio.get_running_loop()
        for command in self.power_off_commands:
            code = await loop.run_in_executor(None, _run_quietly, command)
            if code == 0:
                return
        log.error("CloudLab guard: no power-off command worked: %s", self.power_off_commands)

    async def watch_spot(self) -> None:
        notice = await asyncio.get_running_loop().run_in_executor(None, self.spot.notice)
        if notice is None or notice == self._spot_notice:
            return
        self._spot_notice = notice
        self._status["spot"] = notice
        text = (
            f"[CloudLab] EC2 will {notice['action']} this spot machine at {notice['time']} "
            "(spot interruption notice): save your work now.\n"
        )
        log.warning(text.strip())
        tell = getattr(self._app.kernel_manager, "tell_running_cells", None)
        if tell is not None:
            tell(text)

    def status(self) -> dict[str, Any]:
        return dict(self._status) or {"idle_minutes": self.settings.idle_minutes}


def _run_quietly(command: list[str]) -> int:
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode
    except (OSError, subprocess.SubprocessError):
        return -1


class GuardHandler(APIHandler):
    @property
    def guard(self) -> Guard:
        guard: Guard = self.settings["cloudlab_guard"]
        return guard

    @web.authenticated
    async def get(self) -> None:
        self.finish(json.dumps(self.guard.status()))

    @web.authenticated
    async def put(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, reason="Send a JSON object.") from None
        self.guard.apply(parse_settings(body, self.guard.settings))
        await self.guard.tick()  # the new settings show (and act) at once
        self.finish(json.dumps(self.guard.status()))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "cloudlab_guard"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    config = dict(serverapp.config.get(CONFIG_SECTION, {}))
    guard = Guard(serverapp, config)
    web_app = serverapp.web_app
    web_app.settings["cloudlab_guard"] = guard
    route = url_path_join(web_app.settings["base_url"], "cloudlab", "guard")
    web_app.add_handlers(".*$", [(route, GuardHandler)])
    guard.start()
