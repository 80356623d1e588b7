"""Real data, offline: tables of model scores, the ANES 1996 survey, MovieLens folders.

* :func:`read_table` / :func:`write_csv` — a table as ``{column: values}`` from CSV
  (standard library) or Parquet (``pyarrow``, in the ``data`` extra);
* :func:`market_table` — a market's utilities as a long table (one row per user,
  action and state), so that :func:`pluralign.analysis.ensembles.coverage` can fit
  users by providers with L1/L2 losses and held-out items;
* :mod:`pluralign.data.anes` — a polling market built from the ANES 1996 survey
  bundled with ``statsmodels`` (the ``data`` extra);
* :mod:`pluralign.data.movielens` — a loader for a MovieLens folder the user
  downloaded (ml-100k or ml-latest-small; MovieLens is never shipped nor downloaded).

>>> from pluralign.catalog import load
>>> t = market_table(load("match_mismatch"))
>>> list(t)[:5], len(t["user"])
(['user', 'action', 'state', 'prior', 'utility'], 8)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = [
    "MissingExtra",
    "read_table",
    "write_csv",
    "market_table",
    "anes_market",
    "load_anes96",
    "load_movielens",
    "genre_personas",
]

EXTRA_HINT = "pip install 'pluralign[data]'"


class MissingExtra(ImportError):
    """An optional dependency (the ``data`` extra) is needed and not installed."""


def require(module: str, purpose: str):
    """Import ``module`` or raise :class:`MissingExtra` saying what needs it and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs {module.split('.')[0]}, which is not installed: {EXTRA_HINT}") from None


def read_table(path: str | Path) -> dict[str, list]:
    """Read a CSV (``.csv``, ``.tsv``) or Parquet (``.parquet``, ``.pq``) file as ``{column: values}``.

    CSV needs a header row; cells are kept as strings (empty cells become ``None``).
    Errors name the file, and the row for ragged CSV lines.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        pq = require("pyarrow.parquet", "reading Parquet files")
        try:
            data = pq.read_table(path).to_pydict()
        except Exception as exc:  # pyarrow raises several types for bad files
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
        return {str(k): list(v) for k, v in data.items()}
    if suffix not in (".csv", ".tsv", ".txt"):
        raise ValueError(f"{path}: unknown table format {suffix!r}; use .csv, .tsv or .parquet")
    delimiter = "\t" if suffix == ".tsv" else ","
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty file (expected a header row)") from None
        header = [h.strip() for h in header]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise ValueError(f"{path}: duplicate column names {', '.join(dupes)}")
        if any(h == "" for h in header):
            raise ValueError(f"{path}: header has an empty column name (column {header.index('') + 1})")
        cols: dict[str, list] = {h: [] for h in header}
        for line, row in enumerate(reader, start=2):
            if not row or all(cell.strip() == "" for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has {len(header)}")
            for h, cell in zip(header, row):
                cell = cell.strip()
                cols[h].append(cell if cell != "" else None)
    return cols


def write_csv(columns: dict[str, list], path: str | Path) -> Path:
    """Write ``{column: values}`` as CSV (floats with full precision)."""
    path = Path(path)
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for r in range(n):
            w.writerow([_cell(columns[c][r]) for c in names])
    return path


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


def market_table(market) -> dict[str, list]:
    """One row per (user, action, state): ``user, action, state, prior, utility`` and one column per provider.

    With ``target="utility"`` and ``group="user"`` the L∞ fit of
    :func:`pluralign.analysis.ensembles.coverage` on all rows is the Weak Market
    Alignment fit of each user.
    """
    fixed = ("user", "action", "state", "prior", "utility")
    clash = sorted(set(fixed) & set(market.providers))
    if clash:
        raise ValueError(f"provider names {', '.join(clash)} clash with the table's columns {', '.join(fixed)}")
    m, n_a, n_y = market.u.shape
    prior = market.P.sum(axis=0)
    jj, aa, yy = (g.ravel() for g in np.meshgrid(np.arange(m), np.arange(n_a), np.arange(n_y), indexing="ij"))
    table: dict[str, list] = {
        "user": [market.users[j] for j in jj],
        "action": [market.actions[a] for a in aa],
        "state": [market.states[y] for y in yy],
        "prior": prior[yy].tolist(),
        "utility": market.u[jj, aa, yy].tolist(),
    }
    for i, name in enumerate(market.providers):
        table[name] = market.U[i, jj, aa, yy].tolist()
    return table


from pluralign.data.anes import anes_market, load_anes96  # noqa: E402
from pluralign.data.movielens import genre_personas, load_movielens  # noqa: E402
