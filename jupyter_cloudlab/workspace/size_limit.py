"""Which files fit the folder's size limit: past it the largest files are left out first, so the
most files (code, small data) still reach the machine and the few big ones are named."""

from __future__ import annotations

from .local_index import LocalStat


def over_the_limit(files: dict[str, LocalStat], limit: int) -> list[str]:
    """The files left out so that the rest total LIMIT bytes at most (largest first, then by
    name for a stable answer), sorted by name."""
    total = sum(s.size for s in files.values())
    left: list[str] = []
    for rel, st in sorted(files.items(), key=lambda item: (-item[1].size, item[0])):
        if total <= limit:
            break
        left.append(rel)
        total -= st.size
    return sorted(left)


def reason(limit: int) -> str:
    """Why files were left out, in a phrase."""
    gib = limit / 1024**3
    size = f"{gib:.1f} GB" if gib >= 0.1 else f"{limit / 1024**2:.1f} MB"
    return f"the folder is over its {size} size limit; the largest files stay on the laptop"
