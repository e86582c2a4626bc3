"""Regenerate src/corral/server/settings_types.py from the settings table.

    python tools/update_settings_types.py          # rewrite the module
    python tools/update_settings_types.py --check  # exit 1 if it is out of date

Each row of ``corral.server.config.SETTINGS`` becomes one annotated attribute (and
one slot) of ``SettingFields``, the base class of ``Settings``.  The type is the
return annotation of the row's validator; a hook's is the ``Callable`` of the
default hook's signature.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from generated import keep_current  # noqa: E402

from corral.server import hooks  # noqa: E402
from corral.server.config import SECTION_ORDER, SETTINGS, Setting  # noqa: E402

TARGET = ROOT / "src" / "corral" / "server" / "settings_types.py"

HEADER = '''\
"""The settings as typed attributes, one per row of the settings table.

Generated from ``corral.server.config.SETTINGS`` by tools/update_settings_types.py:
do not edit by hand (a test checks that regenerating gives this file).
:class:`corral.server.config.Settings` fills the slots with validated values, so
reading a setting is a plain attribute read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SettingFields:
    """One annotated slot per setting, in the order of the table."""
'''


def _text(annotation: object) -> str:
    """An annotation as source text (annotations are strings under
    ``from __future__ import annotations``)."""
    if isinstance(annotation, str):
        return annotation
    if annotation is inspect.Parameter.empty:
        return "Any"
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def annotation(setting: Setting) -> str:
    """The type of a setting's value, as source text."""
    default_hook = hooks.DEFAULT_HOOKS.get(setting.name)
    if default_hook is not None:
        sig = inspect.signature(default_hook)
        params = ", ".join(_text(p.annotation) for p in sig.parameters.values())
        return f"Callable[[{params}], {_text(sig.return_annotation)}]"
    result = inspect.get_annotations(setting.validate).get("return", "Any")
    return _text(result)


def render() -> str:
    """The module's source."""
    stray = [s.name for s in SETTINGS if s.section not in SECTION_ORDER]
    if stray:
        raise SystemExit(f"settings in no section of SECTION_ORDER: {', '.join(stray)}")
    lines = [HEADER, "    __slots__ = ("]
    lines += [f'        "{s.name}",' for s in SETTINGS]
    lines.append("    )")
    for section in SECTION_ORDER:
        rows = [s for s in SETTINGS if s.section == section]
        lines += ["", f"    # -- {section}"]
        lines += [f"    {s.name}: {annotation(s)}" for s in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    return keep_current(TARGET, render(), argv, str(TARGET.relative_to(ROOT)),
                        "tools/update_settings_types.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
