"""One script for the machine's `python3 -`: machine_side modules loaded in order, then a main.

Only a python3 is assumed on the machine: nothing of ours is installed there, so the modules
travel inside the script (each as its source, loaded under the name the others import it by).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources


def machine_script(modules: Sequence[tuple[str, str]], main: tuple[str, str]) -> str:
    """MODULES as (name to load it as, file in machine_side/), each before those that import
    it; MAIN likewise, whose ``run(sys.argv)`` is the script's exit status."""
    machine_side = resources.files("jupyter_cloudlab.machine_side")

    def source(file: str) -> str:
        return machine_side.joinpath(file).read_text()

    name, file = main
    return "\n".join(
        [
            "import sys, types",
            "def _load(name, source):",
            "    module = types.ModuleType(name)",
            "    sys.modules[name] = module",
            "    exec(compile(source, name + '.py', 'exec'), module.__dict__)",
            "    return module",
            *(f"_load({loaded!r}, {source(path)!r})" for loaded, path in modules),
            f"sys.exit(_load({name!r}, {source(file)!r}).run(sys.argv))",
            "",
        ]
    )
