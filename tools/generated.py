"""Writing a file generated from the settings table, or checking it is current."""

from __future__ import annotations

from pathlib import Path


def keep_current(path: Path, text: str, argv: list[str], name: str, tool: str) -> int:
    """Write ``text`` to ``path`` when it differs; with ``--check`` in ``argv``,
    only say (exit status 1) that ``name`` is out of date and ``tool`` remakes it."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if "--check" in argv:
        if text != current:
            print(f"{name} is out of date: run {tool}")
            return 1
        return 0
    if text != current:
        path.write_text(text, encoding="utf-8")
    return 0
