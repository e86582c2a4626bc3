"""Regenerate README.md's settings reference from the settings table.

    python tools/update_readme.py          # rewrite the block in README.md
    python tools/update_readme.py --check  # exit 1 if README.md is out of date

The reference lives between ``<!-- settings:start -->`` and ``<!-- settings:end -->``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from generated import keep_current  # noqa: E402

from corral.server.config import markdown_reference  # noqa: E402

README = ROOT / "README.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"


def render(text: str, reference: str) -> str:
    """``text`` with the block between the markers replaced by ``reference``."""
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"README.md lacks the {START} / {END} markers")
    return f"{head}{START}\n{reference.strip()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    updated = render(README.read_text(encoding="utf-8"), markdown_reference())
    return keep_current(README, updated, argv, "README.md settings reference",
                        "tools/update_readme.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
