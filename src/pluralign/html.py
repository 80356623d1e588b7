"""Short HTML tables for notebooks (``_repr_html_`` of markets and results); escapes every cell.

>>> print(table("t", ("a", "b"), [("x", 0.5)]))
<table><caption>t</caption><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>x</td><td>0.5</td></tr></tbody></table>
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["table", "cell"]


def cell(value) -> str:
    """One cell's text: floats to 6 significant digits, everything else by ``str``; escaped."""
    if isinstance(value, float):
        text = f"{value:.6g}"
    else:
        try:
            import numpy as np

            text = f"{float(value):.6g}" if isinstance(value, np.floating) else str(value)
        except ImportError:  # pragma: no cover
            text = str(value)
    return html.escape(text)


def table(caption: str, header: Sequence[str], rows: Iterable[Sequence], *, limit: int = 50) -> str:
    """An HTML table with ``caption``, ``header`` and at most ``limit`` rows (a final row says how many were cut)."""
    rows = list(rows)
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows[:limit])
    if len(rows) > limit:
        body += f'<tr><td colspan="{len(header)}">… {len(rows) - limit} more rows</td></tr>'
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
