"""Reading runs back: finding run directories, loading their stored tasks, exporting them as a table."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pluralign.workflows.sweeps.config import make_config
from pluralign.workflows.sweeps.errors import SweepConfigError, SweepError
from pluralign.workflows.sweeps.rundir import CONFIG_FILE, RUN_FILE, STORE_FILE, _read_json, _write_atomic
from pluralign.workflows.sweeps.store import ResultsStore, StoredTask

__all__ = ["RunData", "find_runs", "load_run", "export"]


@dataclass(frozen=True)
class RunData:
    """A run directory read back: its config, run.json, and the stored tasks of its config."""

    run_dir: Path
    experiment: str
    config: dict[str, Any]
    info: dict[str, Any]
    tasks: tuple[StoredTask, ...]  # the config's tasks that finished, in task order
    pending: int  # the config's tasks not in the store
    other: int  # stored tasks not in the current config (from earlier configs)

    def rows(self) -> list[dict[str, Any]]:
        """Finished, successful tasks as rows ``{**params, seed, **result}``."""
        return [t.row() for t in self.tasks if t.status == "ok"]

    def failed(self) -> list[StoredTask]:
        return [t for t in self.tasks if t.status == "error"]


def find_runs(root: str | Path) -> list[Path]:
    """Run directories at or below ``root`` (two levels), sorted by path."""
    root = Path(root)
    if (root / STORE_FILE).exists():
        return [root]
    found = sorted({p.parent for p in root.glob(f"*/{STORE_FILE}")} | {p.parent for p in root.glob(f"*/*/{STORE_FILE}")})
    return found


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory (its store read-only; safe while a sweep is writing)."""
    run_dir = Path(run_dir)
    with ResultsStore(run_dir / STORE_FILE, readonly=True) as store:
        stored = store.tasks()
    config_data: dict[str, Any] = {}
    with contextlib.suppress(OSError, yaml.YAMLError):
        config_data = yaml.safe_load((run_dir / CONFIG_FILE).read_text()) or {}
    info = _read_json(run_dir / RUN_FILE)
    experiment = str(config_data.get("experiment") or info.get("experiment") or (stored[0].experiment if stored else "?"))
    by_key = {s.key: s for s in stored}
    try:
        keys = [t.key for t in make_config(config_data, source=str(run_dir / CONFIG_FILE)).tasks()]
    except (SweepConfigError, KeyError, ValidationError):  # unknown experiment or changed parameters: show all rows
        keys = [s.key for s in stored]
    mine = [by_key[k] for k in keys if k in by_key]
    return RunData(run_dir, experiment, config_data, info, tuple(mine), len(keys) - len(mine), len(stored) - len(mine))


def export(run_dir: str | Path, fmt: str = "parquet", path: str | Path | None = None) -> Path:
    """Write every stored task as a flat table: ``results.parquet`` (needs pyarrow) or ``results.csv``.

    Columns: key, experiment, seed, status, the parameters, the result fields,
    error, seconds, finished_at.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"export format must be parquet or csv, got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise SweepError("parquet export needs pyarrow: pip install 'pluralign[data]'") from None
    run_dir = Path(run_dir)
    with ResultsStore(run_dir / STORE_FILE, readonly=True) as store:
        stored = store.tasks()
    records = [
        {
            "key": s.key,
            "experiment": s.experiment,
            "seed": s.seed,
            "status": s.status,
            **s.params,
            **{k: v for k, v in (s.result or {}).items() if k not in ("key", "experiment", "seed", "status")},
            "error": s.error,
            "seconds": s.seconds,
            "finished_at": s.finished_at,
        }
        for s in stored
    ]
    columns: dict[str, None] = {}
    for r in records:
        columns.update(dict.fromkeys(r))
    path = Path(path) if path is not None else run_dir / f"results.{fmt}"
    if fmt == "parquet":
        table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in records])
        pq.write_table(table, path)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(columns))
        writer.writeheader()
        for r in records:
            writer.writerow({c: (json.dumps(v) if isinstance(v, (dict, list)) else v) for c, v in r.items()})
        _write_atomic(path, buf.getvalue())
    return path
