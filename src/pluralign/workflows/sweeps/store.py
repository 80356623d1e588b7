"""The results store: one SQLite row per finished task, each committed as it finishes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pluralign.workflows.sweeps.config import Task
from pluralign.workflows.sweeps.tasks import Outcome

__all__ = ["StoredTask", "ResultsStore"]


@dataclass(frozen=True)
class StoredTask:
    """One row of the results store."""

    key: str
    experiment: str
    params: dict[str, Any]
    seed: int
    status: str
    result: dict[str, Any] | None
    error: str | None
    traceback: str | None
    seconds: float
    finished_at: str
    attempts: int

    def row(self) -> dict[str, Any]:
        """``{**params, "seed": seed, **result}`` — what experiments' figures and summaries receive."""
        return {**self.params, "seed": self.seed, **(self.result or {})}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    key         TEXT PRIMARY KEY,
    experiment  TEXT NOT NULL,
    params      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    result      TEXT,
    error       TEXT,
    traceback   TEXT,
    seconds     REAL NOT NULL,
    finished_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1
)
"""


class ResultsStore:
    """SQLite results of one run directory: one row per task, each committed as it finishes.

    Only the sweep's driver process writes (WAL journal, ``synchronous=NORMAL``: a
    committed row survives the process being killed; readers never block it).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no results store")
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._db:
                self._db.execute(_SCHEMA)
                self._db.execute("PRAGMA user_version=1")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def statuses(self) -> dict[str, str]:
        """Task key → ``ok`` or ``error``, for every stored task."""
        return dict(self._db.execute("SELECT key, status FROM tasks"))

    def experiments(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT experiment FROM tasks ORDER BY experiment")]

    def record(self, task: Task, outcome: Outcome) -> None:
        """Insert (or, on a retry, replace) the task's row, in one transaction."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._db:
            self._db.execute(
                "INSERT INTO tasks (key, experiment, params, seed, status, result, error, traceback, seconds, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET status=excluded.status, result=excluded.result, error=excluded.error,"
                " traceback=excluded.traceback, seconds=excluded.seconds, finished_at=excluded.finished_at,"
                " attempts=tasks.attempts+1",
                (
                    task.key,
                    task.experiment,
                    json.dumps(task.params_json(), sort_keys=True),
                    task.seed,
                    outcome.status,
                    outcome.result,
                    outcome.error,
                    outcome.traceback,
                    outcome.seconds,
                    now,
                ),
            )

    def tasks(self) -> list[StoredTask]:
        """Every stored task, in the order they finished."""
        cur = self._db.execute(
            "SELECT key, experiment, params, seed, status, result, error, traceback, seconds, finished_at, attempts"
            " FROM tasks ORDER BY rowid"
        )
        return [
            StoredTask(k, e, json.loads(p), s, st, json.loads(r) if r is not None else None, err, trace, sec, fin, att)
            for k, e, p, s, st, r, err, trace, sec, fin, att in cur
        ]
