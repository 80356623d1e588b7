"""Sweeps: an experiment over a grid of parameters × seeds, with a crash-safe, resumable results store.

A sweep config (YAML) names an experiment of the registry, a grid and seeds::

    experiment: value_of_information
    grid:                      # parameter: [values]   (a single value may be written bare)
      n_states: [2, 3, 4]
      n_actions: 3
    seeds: 10                  # seeds 0 … 9, or a list: [0, 7, 42]
    out: runs/voi              # optional; the run directory
    backend: local             # local (process pool, default) | serial | dask
    workers: 2                 # optional; default: the number of cores
    scheduler: tcp://host:8786 # dask only; without it a local Dask cluster is started

The tasks are the grid points × seeds (the last grid parameter varies fastest, then
the seed). A task's **key** is a stable hash of (experiment, all its parameters
with defaults filled in, seed). The config is validated completely — experiment,
parameter names, every value's type — before any task runs.

The run directory holds

* ``results.sqlite`` — one row per finished task (key, experiment, params JSON, seed,
  status ``ok|error``, result JSON, error, traceback, seconds, finished_at), each
  committed atomically (SQLite WAL) by the driver process alone as the task finishes;
* ``config.yaml`` — the resolved config; ``run.json`` — seeds, package versions, start
  and end times of every session, task counts.

Running the same sweep again skips every task already in the store (failed ones
too, unless ``retry_failed``), so a sweep killed at any point resumes with nothing
lost and nothing duplicated. The key does not include the code's version: to
recompute after changing an experiment, use a new run directory.

This module is the driver — :func:`run_sweep` and :class:`SweepResult` — and the
public API: it re-exports the names of the modules of :mod:`pluralign.workflows.sweeps`,
one job each: ``errors`` (:class:`SweepConfigError`, :class:`SweepError`), ``config``
(validating configs; tasks and their keys), ``tasks`` (executing one task), ``store``
(the SQLite results store), ``rundir`` (the run directory's files, metadata and lock),
``backends`` (serial, local process pool, Dask), ``progress`` (the progress bar) and
``runs`` (reading runs back: :func:`load_run`, :func:`find_runs`, :func:`export`).
"""

from __future__ import annotations

import json
import math
import pickle
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pluralign.workflows.experiments import registry

# The public API of sweeps (``__all__``); the driver's helpers come from the submodules that own them.
from pluralign.workflows.sweeps.backends import _BACKENDS, BACKENDS, default_workers
from pluralign.workflows.sweeps.config import SweepConfig, Task, load_config, make_config, task_key
from pluralign.workflows.sweeps.errors import SweepConfigError, SweepError
from pluralign.workflows.sweeps.progress import _NoProgress, _Notes, _Progress
from pluralign.workflows.sweeps.rundir import (
    RUN_FILE,
    STORE_FILE,
    _locked,
    _now,
    _read_json,
    _write_atomic,
    _write_config,
    versions,
)
from pluralign.workflows.sweeps.runs import RunData, export, find_runs, load_run
from pluralign.workflows.sweeps.store import ResultsStore, StoredTask
from pluralign.workflows.sweeps.tasks import Outcome, execute_task, one_line

__all__ = [
    "SweepConfig",
    "SweepConfigError",
    "SweepError",
    "Task",
    "Outcome",
    "StoredTask",
    "ResultsStore",
    "SweepResult",
    "RunData",
    "load_config",
    "make_config",
    "task_key",
    "execute_task",
    "run_sweep",
    "load_run",
    "find_runs",
    "export",
    "versions",
]


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did: counts over the config's tasks, this session's work, failed tasks."""

    run_dir: Path
    experiment: str
    backend: str
    workers: int
    total: int
    skipped: int  # already in the store when this session started
    ran: int  # finished in this session
    ok: int  # in the store, over all sessions
    failed: int
    pending: int
    seconds: float
    interrupted: bool
    failed_tasks: tuple[dict[str, Any], ...] = ()

    @property
    def complete(self) -> bool:
        return self.pending == 0

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "failed_tasks"}
        data["run_dir"] = str(self.run_dir)
        data["failed_tasks"] = list(self.failed_tasks)
        return data


def _failed_tasks(tasks: Sequence[Task], stored: Mapping[str, StoredTask], grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        s = stored.get(task.key)
        if s is not None and s.status == "error":
            shown = {k: s.params.get(k) for k in grid}
            out.append({"key": task.key, "params": shown, "seed": task.seed, "error": s.error})
    return out


def run_sweep(
    config: SweepConfig,
    out: str | Path | None = None,
    *,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
    label: str | None = None,
) -> SweepResult:
    """Run the config's tasks that are not yet in the run directory's store; see the module docstring.

    ``out``, ``backend``, ``workers`` and ``scheduler`` override the config's.
    ``progress=None`` shows the bar when stderr is a terminal. Ctrl-C stops the
    sweep, keeps every finished result and returns with ``interrupted=True``.
    """
    started = time.perf_counter()
    backend = backend or config.backend
    if backend not in _BACKENDS:
        raise SweepConfigError([f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}"])
    scheduler = scheduler if scheduler is not None else config.scheduler
    if scheduler is not None and backend != "dask":
        raise SweepConfigError([f"scheduler: only used with backend dask, but backend is {backend!r}"])
    target = out if out is not None else config.out
    if target is None:
        raise SweepConfigError(["out: no run directory given (set 'out' in the config or pass --out)"])
    run_dir = Path(target).resolve()
    exp = registry.get(config.experiment)
    tasks = config.tasks()
    if backend != "serial" and tasks:
        try:
            pickle.dumps(tasks[0])
        except Exception as exc:
            raise SweepError(
                f"experiment {exp.name}: its run function or params cannot be sent to worker processes ({one_line(exc)}); "
                "define them at the top level of an importable module, or use --backend serial"
            ) from None
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise SweepError("the dask backend needs Dask: pip install 'pluralign[dask]'") from None

    run_dir.mkdir(parents=True, exist_ok=True)
    with _locked(run_dir), ResultsStore(run_dir / STORE_FILE) as store:
        others = [e for e in store.experiments() if e != exp.name]
        if others:
            raise SweepError(f"{run_dir} holds results of experiment {others[0]!r}; use another run directory")
        statuses = store.statuses()
        todo = [t for t in tasks if t.key not in statuses or (retry_failed and statuses[t.key] == "error")]
        skipped = len(tasks) - len(todo)
        n_workers = max(1, min(workers or config.workers or default_workers(), max(1, len(todo))))
        if backend == "serial":
            n_workers = 1

        _write_config(run_dir, config, exp)
        info = _read_json(run_dir / RUN_FILE)
        session = {
            "started_at": _now(),
            "backend": backend,
            "workers": n_workers,
            "scheduler": scheduler,
            "argv": sys.argv[1:] if sys.argv and sys.argv[0].endswith(("pluralign", "__main__.py")) else None,
            "skipped": skipped,
            "to_run": len(todo),
            "versions": versions(*(("dask", "distributed") if backend == "dask" else ())),
        }
        info.setdefault("started_at", session["started_at"])
        info.setdefault("sessions", []).append(session)
        info.update(
            experiment=exp.name,
            description=exp.description,
            grid=config.grid,
            seeds=list(config.seeds),
            status="running",
            versions=session["versions"],
        )
        _write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2))

        counts = {"ok": 0, "error": 0}
        show = sys.stderr.isatty() if progress is None else progress

        bar: Any = _Progress(label or exp.name, len(tasks), skipped) if show and todo else (_NoProgress() if progress is False else _Notes())

        def record(task: Task, outcome: Outcome) -> None:
            store.record(task, outcome)
            counts[outcome.status] += 1
            bar.advance(outcome.status == "ok")
            if outcome.status == "error":
                point = {k: task.params_json()[k] for k in config.grid}
                bar.note(f"task {task.key} failed (seed {task.seed}, {point}): {outcome.error}")

        interrupted = False
        try:
            with bar:
                if todo:
                    used = _BACKENDS[backend](todo, record, workers=n_workers, scheduler=scheduler)
                    if used:
                        n_workers = session["workers"] = used
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stored = {s.key: s for s in store.tasks()}
            keys = [t.key for t in tasks]
            ok = sum(1 for k in keys if k in stored and stored[k].status == "ok")
            failed = sum(1 for k in keys if k in stored and stored[k].status == "error")
            pending = len(keys) - ok - failed
            elapsed = time.perf_counter() - started
            seconds = [stored[k].seconds for k in keys if k in stored]
            session.update(
                ended_at=_now(),
                seconds=round(elapsed, 3),
                ran=counts["ok"] + counts["error"],
                ok=counts["ok"],
                error=counts["error"],
                interrupted=interrupted,
            )
            info.update(
                status="complete" if pending == 0 else ("interrupted" if interrupted else "incomplete"),
                ended_at=session["ended_at"],
                tasks={"total": len(keys), "ok": ok, "error": failed, "pending": pending, "stored": len(stored)},
                task_seconds={
                    "total": round(math.fsum(seconds), 3),
                    "mean": round(math.fsum(seconds) / len(seconds), 4) if seconds else None,
                    "max": round(max(seconds), 4) if seconds else None,
                },
            )
            _write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2))

    return SweepResult(
        run_dir=run_dir,
        experiment=exp.name,
        backend=backend,
        workers=n_workers,
        total=len(tasks),
        skipped=skipped,
        ran=counts["ok"] + counts["error"],
        ok=ok,
        failed=failed,
        pending=pending,
        seconds=elapsed,
        interrupted=interrupted,
        failed_tasks=tuple(_failed_tasks(tasks, stored, config.grid)),
    )
