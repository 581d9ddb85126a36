"""Foreign text in rich output: always literal, never markup, never a control character.

A rich Table parses every str cell as console markup, so an entrypoint or job name such as
`[/]` or `[bold]` crashes (MarkupError) or restyles the output. `add_plain_row` turns every
str cell into a `Text` (never parsed) after escaping control characters and lone
surrogates; renderables already built by us pass through.
"""

from __future__ import annotations

from typing import Any

from launchbuild.limits import printable


def plain(value: Any) -> Any:
    from rich.text import Text

    return Text(printable(value)) if isinstance(value, str) else value


def add_plain_row(table: Any, *cells: Any, **kwargs: Any) -> None:
    table.add_row(*(plain(c) for c in cells), **kwargs)
