"""GET a machine kernelspec's logo, served from the local origin so that it stays an image.

jupyter_server's own resource handler (``/kernelspecs/<name>/<path>``) picks the Content-Type by
file extension: a machine's ``evil.html`` would be a page of this origin with the user's session.
For machine kernelspecs (``cloudlab.<machine id>.<remote name>``) this handler answers instead
(extension routes come before the server's): only the logos the spec lists, checked as PNG or SVG
by the kernelspec manager, with an image type, ``nosniff``, and a CSP that sandboxes a logo opened
on its own (an SVG's script never runs). Anything else under such a name is 404.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .errors import JsonErrors

# The kernelspec resources of a machine's specs: the whole path, so no file under such a name
# reaches jupyter_server's handler. Kernel names as jupyter_server matches them.
ROUTE = r"/kernelspecs/(?P<kernel_name>cloudlab\.[\w\.\-%]+)/(?P<path>.*)"
# No script, no plugin, no fetch; a unique origin; inline style only (SVG logos use it).
LOGO_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
CACHE_SECONDS = 24 * 60 * 60


class MachineKernelspecLogoHandler(JsonErrors):
    """Errors answer as JSON {message, reason}, as every CloudLab route (an image route has no
    page to show); the sandboxing CSP below applies to them too."""

    # The same permission as jupyter_server's kernelspec resources: reading kernelspecs.
    auth_resource = "kernelspecs"
    SUPPORTED_METHODS = ("GET", "HEAD")

    @property
    def content_security_policy(self) -> str:
        """For every answer of this handler, error pages included."""
        return LOGO_CSP

    def get_login_url(self) -> str:
        """An image has no use for a login page: refuse (403) rather than redirect there."""
        raise web.HTTPError(403)

    @web.authenticated
    @authorized
    async def get(self, kernel_name: str, path: str) -> None:
        await self._serve(kernel_name, path)

    @web.authenticated
    @authorized
    async def head(self, kernel_name: str, path: str) -> None:
        await self._serve(kernel_name, path)  # tornado sends the headers only

    async def _serve(self, kernel_name: str, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")  # whatever settings["headers"] say
        machine_logo = getattr(self.kernel_spec_manager, "machine_logo", None)
        logo = await machine_logo(kernel_name, path) if machine_logo is not None else None
        if logo is None:
            raise web.HTTPError(404, reason="No such logo among this machine kernelspec's files.")
        data, content_type = logo
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", f"private, max-age={CACHE_SECONDS}")
        self.finish(data)
