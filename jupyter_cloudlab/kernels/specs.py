"""Kernelspecs: the local ones plus, for each connected machine, its machine server's, renamed.

A machine's spec ``python3`` appears as ``cloudlab.<machine_id>.python3`` with the machine in its
display name, so JupyterLab's launcher and kernel picker show where a kernel would run. Remote
specs are returned as full REST models (``{"name", "spec", "resources"}``), which jupyter_server's
kernelspec handlers pass through as they are (see ``is_kernelspec_model`` there).

A listing never waits on a machine it already knows: it serves that machine's cached specs and
refreshes them in the background (one refresh per machine at a time), so a slow machine never
holds up the launcher or the kernel picker. Only a machine not listed yet is waited for (bounded
by a timeout); a machine that fails contributes nothing and logs a warning, so one dead tunnel
never breaks the launcher.

A machine may be compromised, and what it sends is served from the local origin: its listing is
bounded and checked (server_client.py), display names are plain text of bounded length, and of
its resources only the logos are listed and served (``machine_logo``): PNG or SVG by their
bytes, under ``MAX_LOGO_BYTES``. The extension's own handler serves them with an image type,
``nosniff`` and a sandboxing CSP (handlers/kernelspec_logos.py); jupyter_server's resource
handler, which picks a type by extension, gets the PNGs only.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, Instance, default, observe

from .machine_servers import (
    MachineServer,
    MachineServerRegistry,
    machine_kernel_name,
    parse_machine_kernel_name,
)
from .server_client import MachineServerClient, MachineServerError

SPEC_LIST_TIMEOUT = 10.0
# The logos a kernelspec may have (jupyter_client's names): file name -> resource key, type.
LOGOS = {
    "logo-32x32.png": ("logo-32x32", "image/png"),
    "logo-64x64.png": ("logo-64x64", "image/png"),
    "logo-svg.svg": ("logo-svg", "image/svg+xml"),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# An SVG document: optional BOM, XML declaration, comments and doctype, then the <svg> element.
SVG_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
    rb"(?:<!DOCTYPE\s+svg[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]",
    re.DOTALL | re.IGNORECASE,
)
SVG_SCAN_BYTES = 16 * 1024
# A display name is one line of a launcher card: longer ones are cut.
MAX_DISPLAY_NAME_CHARS = 100
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class CloudLabKernelSpecManager(KernelSpecManager):
    """KernelSpecManager plus the kernelspecs of the machines in ``machine_servers``."""

    machine_servers = Instance(
        MachineServerRegistry,
        help="The machines offering kernels; the extension replaces it with the orchestrator's.",
    )
    remote_list_timeout = Float(
        SPEC_LIST_TIMEOUT,
        config=True,
        help="Seconds a kernelspec listing waits for a machine before leaving its kernels out.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # machine_id -> {local name: REST model}. Filled by listings and registry changes.
        self._machine_specs: dict[str, dict[str, dict[str, Any]]] = {}
        # machine_id -> its refresh in flight, shared by every listing that wants it.
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    @default("machine_servers")
    def _default_servers(self) -> MachineServerRegistry:
        registry = MachineServerRegistry()
        registry.on_change(lambda: self._on_servers_changed(registry))
        return registry

    @observe("machine_servers")
    def _servers_replaced(self, change: dict[str, Any]) -> None:
        registry: MachineServerRegistry = change["new"]
        registry.on_change(lambda: self._on_servers_changed(registry))
        self._on_servers_changed(registry)

    def _on_servers_changed(self, registry: MachineServerRegistry) -> None:
        """Drop specs of machines that left; fetch those of machines that came (in background)."""
        if registry is not self.machine_servers:
            return
        current = {g.machine_id: g for g in registry.all()}
        for machine_id in list(self._machine_specs):
            if machine_id not in current:
                del self._machine_specs[machine_id]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (configuration time): the first listing fetches them
        for machine_server in current.values():
            self._refresh_soon(machine_server)

    def _refresh_soon(self, machine_server: MachineServer) -> asyncio.Task[None]:
        """The machine's refresh in flight, or a new one: never two at once for a machine."""
        task = self._refreshing.get(machine_server.machine_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._refresh(machine_server))
            self._refreshing[machine_server.machine_id] = task
            task.add_done_callback(
                lambda done: (
                    self._refreshing.pop(machine_server.machine_id, None)
                    if self._refreshing.get(machine_server.machine_id) is done
                    else None
                )
            )
        return task

    # -- fetching -------------------------------------------------------------------------------

    async def _refresh(self, machine_server: MachineServer) -> None:
        """Replace the cached specs of one machine; on failure it contributes nothing."""
        try:
            reply = await MachineServerClient(machine_server).list_specs(
                timeout=self.remote_list_timeout
            )
        except (MachineServerError, ValueError) as e:
            self.log.warning(
                "Kernelspecs of machine %s unavailable: %s", machine_server.machine_id, e
            )
            self._machine_specs.pop(machine_server.machine_id, None)
            return
        if self.machine_servers.get(machine_server.machine_id) != machine_server:
            return  # the machine left or its machine server changed while we waited
        specs = reply.get("kernelspecs") or {}
        self._machine_specs[machine_server.machine_id] = {
            machine_kernel_name(machine_server.machine_id, name): self._localize(
                machine_server, name, model
            )
            for name, model in specs.items()
            if isinstance(model, dict) and isinstance(model.get("spec"), dict)
        }

    def _localize(
        self, machine_server: MachineServer, remote_name: str, model: dict[str, Any]
    ) -> dict[str, Any]:
        """A machine server's spec model, renamed, labelled with the machine, resources served by us."""
        local_name = machine_kernel_name(machine_server.machine_id, remote_name)
        spec = dict(model["spec"])
        parts = [
            _plain_text(spec.get("display_name")) or remote_name,
            machine_server.machine_name,
            machine_server.label,
        ]
        if not isinstance(spec.get("language"), str) or len(spec["language"]) > 64:
            spec["language"] = ""
        spec["display_name"] = " · ".join(p for p in parts if p)
        metadata = dict(spec.get("metadata") or {})
        metadata["cloudlab"] = {
            "machine_id": machine_server.machine_id,
            "machine_name": machine_server.machine_name,
            "remote_name": remote_name,
            "label": machine_server.label,
        }
        spec["metadata"] = metadata
        base_url = getattr(self.parent, "base_url", "/") or "/"
        # Only the logos the machine lists, under their usual names: no kernel.js or kernel.css
        # (script and style from the machine), no other file.
        listed = model.get("resources")
        listed = listed if isinstance(listed, dict) else {}
        resources: dict[str, str] = {}
        for filename, (key, _type) in LOGOS.items():
            url = listed.get(key)
            if isinstance(url, str) and url.rstrip("/").rsplit("/", 1)[-1] == filename:
                resources[key] = url_path_join(base_url, "kernelspecs", local_name, filename)
        return {"name": local_name, "spec": spec, "resources": resources}

    # -- what jupyter_server calls --------------------------------------------------------------

    async def get_all_specs(self) -> dict[str, Any]:  # type: ignore[override]
        """Local specs (as jupyter_client gives them, read off the event loop) and every
        machine's: cached ones at once (refreshed in the background), the others waited for.

        Async on purpose: the /api/kernelspecs handler ``ensure_async``-s it, as it does for
        jupyter_server's own GatewayKernelSpecManager.
        """
        local = await asyncio.to_thread(super().get_all_specs)
        first_listings = []
        for machine_server in self.machine_servers.all():
            refresh = self._refresh_soon(machine_server)
            if machine_server.machine_id not in self._machine_specs:
                first_listings.append(refresh)  # nothing to serve yet: wait (bounded)
        await asyncio.gather(*first_listings)
        merged: dict[str, Any] = dict(local)
        for machine_specs in list(self._machine_specs.values()):
            merged.update(machine_specs)
        return merged

    def get_kernel_spec(self, kernel_name: str) -> Any:
        """The local KernelSpec, or a machine's cached spec model (filled by listings).

        Stays synchronous: KernelManager.kernel_spec calls it synchronously for local kernels.
        """
        parsed = parse_machine_kernel_name(kernel_name)
        if parsed is None:
            return super().get_kernel_spec(kernel_name)
        model = self._machine_specs.get(parsed[0], {}).get(kernel_name)
        if model is None:
            raise NoSuchKernel(kernel_name)
        return model

    async def get_kernel_spec_resource(self, kernel_name: str, path: str) -> bytes | None:
        """Serve a kernelspec's resource for jupyter_server's handler: from disk for local specs,
        and of a machine's only its PNG logos (that handler picks the type by extension and sends
        no CSP; the extension's own handler serves every machine logo, see ``machine_logo``).

        jupyter_server's resource handler prefers this hook when present; answering local files
        here too keeps it from logging a fallback warning on every local logo.
        """
        if parse_machine_kernel_name(kernel_name) is None:
            return await asyncio.to_thread(self._local_resource, kernel_name, path)
        logo = await self.machine_logo(kernel_name, path)
        if logo is None or logo[1] != "image/png":
            # Not None: jupyter_server would then look for the spec's files on this disk.
            raise web.HTTPError(404, "No such logo of a machine kernelspec")
        return logo[0]

    async def machine_logo(self, kernel_name: str, filename: str) -> tuple[bytes, str] | None:
        """A machine kernelspec's logo and its image type: only one the spec lists (``LOGOS``),
        whose bytes are PNG or SVG as its name says, under the size bound; else None."""
        parsed = parse_machine_kernel_name(kernel_name)
        if parsed is None or filename not in LOGOS:
            return None
        key, content_type = LOGOS[filename]
        model = self._machine_specs.get(parsed[0], {}).get(kernel_name)
        machine_server = self.machine_servers.get(parsed[0])
        if model is None or key not in model["resources"] or machine_server is None:
            return None
        try:
            data = await MachineServerClient(machine_server).get_spec_resource(parsed[1], filename)
        except MachineServerError as e:
            self.log.warning("Kernelspec logo %s/%s unavailable: %s", kernel_name, filename, e)
            return None
        if data is None:
            return None
        looks_right = (
            data.startswith(PNG_SIGNATURE)
            if content_type == "image/png"
            else SVG_START.match(data[:SVG_SCAN_BYTES]) is not None
        )
        if not looks_right:
            self.log.warning(
                "Kernelspec logo %s/%s refused: its bytes are not a %s image",
                kernel_name,
                filename,
                content_type.split("/")[1].split("+")[0].upper(),
            )
            return None
        return data, content_type

    def _local_resource(self, kernel_name: str, path: str) -> bytes | None:
        try:
            resource_dir = os.path.realpath(super().get_kernel_spec(kernel_name).resource_dir)
        except NoSuchKernel:
            return None
        full = os.path.realpath(os.path.join(resource_dir, path))
        if not full.startswith(resource_dir + os.sep) or not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            return f.read()


def _plain_text(value: Any) -> str:
    """A display name from a machine as one line of plain text, at most MAX_DISPLAY_NAME_CHARS."""
    if not isinstance(value, str):
        return ""
    text = " ".join(_CONTROL_CHARS.sub(" ", value).split())
    if len(text) > MAX_DISPLAY_NAME_CHARS:
        text = text[: MAX_DISPLAY_NAME_CHARS - 1].rstrip() + "…"
    return text
