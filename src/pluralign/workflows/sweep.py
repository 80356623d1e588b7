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
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import multiprocessing
import os
import pickle
import platform
import signal
import sqlite3
import sys
import threading
import time
import traceback as tb
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pluralign.workflows.experiments import registry
from pluralign.workflows.experiments.registry import Experiment

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

BACKENDS = ("local", "serial", "dask")
STORE_FILE = "results.sqlite"
CONFIG_FILE = "config.yaml"
RUN_FILE = "run.json"
LOCK_FILE = ".lock"


class SweepConfigError(ValueError):
    """A sweep config that cannot run; ``problems`` are lines ``field.path: what is wrong``."""

    def __init__(self, problems: Sequence[str], source: str = "config"):
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


class SweepError(RuntimeError):
    """A sweep that could not start or had to stop (busy run directory, missing Dask, dead worker)."""


# --------------------------------------------------------------------------- config


class _RawConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: str
    grid: dict[str, Any] = Field(default_factory=dict)
    seeds: Any = 1  # a count or a list; checked by make_config
    out: str | None = None
    backend: Literal["local", "serial", "dask"] = "local"
    workers: int | None = Field(None, ge=1)
    scheduler: str | None = None
    description: str | None = None


_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(path: str, err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "missing":
        return f"{path}: required field missing"
    if kind == "extra_forbidden":
        return f"{path}: unknown field"
    text = _EXPECTED.get(kind)
    if text is None:
        msg = str(err.get("msg", "invalid value"))
        text = msg[:1].lower() + msg[1:]
    return f"{path}: {text}, got {value!r}"


def _pydantic_problems(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[str]:
    seen, problems = set(), []
    for err in exc.errors():
        line = _problem(_path([*prefix, *err["loc"]]), err)
        if line not in seen:
            seen.add(line)
            problems.append(line)
    return problems


@dataclass(frozen=True)
class Task:
    """One unit of work: the experiment's ``run(params, seed)``; ``key`` identifies it in the store."""

    key: str
    experiment: str
    seed: int
    params: BaseModel
    run: Callable[[Any, int], Mapping[str, Any]]

    def params_json(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json")


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep: experiment, grid (parameter → validated values), seeds and run options."""

    experiment: str
    grid: dict[str, list[Any]]
    seeds: tuple[int, ...]
    out: str | None = None
    backend: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    description: str | None = None

    def points(self) -> list[dict[str, Any]]:
        """Grid points in order, the last parameter varying fastest."""
        return registry.product(self.grid)

    def tasks(self) -> list[Task]:
        """Grid points × seeds, in order (seeds vary fastest)."""
        exp = registry.get(self.experiment)
        tasks = []
        for point in self.points():
            params = exp.params.model_validate(point)
            full = params.model_dump(mode="json")
            for seed in self.seeds:
                tasks.append(Task(task_key(exp.name, full, seed), exp.name, seed, params, exp.run))
        return tasks

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"experiment": self.experiment}
        if self.description:
            data["description"] = self.description
        data.update(grid=self.grid, seeds=list(self.seeds), out=self.out, backend=self.backend)
        if self.workers is not None:
            data["workers"] = self.workers
        if self.scheduler is not None:
            data["scheduler"] = self.scheduler
        return data

    def replace(self, **changes: Any) -> "SweepConfig":
        return SweepConfig(**{**self.__dict__, **{k: v for k, v in changes.items()}})


def make_config(data: Any, source: str = "config") -> SweepConfig:
    """Validate a sweep config mapping; raise :class:`SweepConfigError` naming every bad field."""
    if not isinstance(data, Mapping):
        raise SweepConfigError([f"expected a mapping with 'experiment', 'grid' and 'seeds', got {type(data).__name__}"], source)
    problems: list[str] = []
    data = dict(data)
    unknown = [k for k in data if k not in _RawConfig.model_fields]
    for k in unknown:
        problems.append(f"{k}: unknown field (fields: {', '.join(_RawConfig.model_fields)})")
        del data[k]
    try:
        raw = _RawConfig.model_validate(data)
    except ValidationError as exc:
        raise SweepConfigError(problems + _pydantic_problems(exc), source) from None
    try:
        exp = registry.get(raw.experiment)
    except KeyError as exc:
        raise SweepConfigError([*problems, f"experiment: {exc.args[0]}"], source) from None

    seeds: list[int] = []
    if _is_int(raw.seeds):
        seeds = list(range(raw.seeds))
        if raw.seeds < 1:
            problems.append(f"seeds: expected at least 1 seed, got {raw.seeds}")
    elif isinstance(raw.seeds, list):
        if not raw.seeds:
            problems.append("seeds: empty list")
        for k, s in enumerate(raw.seeds):
            if _is_int(s):
                seeds.append(s)
            else:
                problems.append(f"seeds[{k}]: expected an integer, got {s!r}")
    else:
        problems.append(f"seeds: expected a number of seeds or a list of seeds, got {raw.seeds!r}")
    for k, s in enumerate(seeds):
        if s < 0:
            problems.append(f"seeds[{k}]: seeds must be non-negative, got {s}")
        elif s in seeds[:k]:
            problems.append(f"seeds[{k}]: duplicate seed {s}")
    if raw.scheduler is not None and raw.backend != "dask":
        problems.append(f"scheduler: only used with backend dask, but backend is {raw.backend!r}")

    fields = exp.params.model_fields
    grid: dict[str, list[Any]] = {}
    for name, values in raw.grid.items():
        if name not in fields:
            problems.append(
                f"grid.{name}: unknown parameter of experiment {exp.name!r} (parameters: {', '.join(fields)})"
            )
            continue
        listed = isinstance(values, list)
        values = values if listed else [values]
        if not values:
            problems.append(f"grid.{name}: empty list of values")
            continue
        clean = []
        for k, value in enumerate(values):
            where = f"grid.{name}[{k}]" if listed else f"grid.{name}"
            try:
                clean.append(exp.params.model_validate({name: value}).model_dump(mode="json")[name])
            except ValidationError as exc:
                mine = [e for e in exc.errors() if e["loc"][:1] == (name,)]
                problems.extend(_problem(where, e) for e in mine[:1])
                if not mine:  # the value is fine; another (required) field is what fails
                    clean.append(value)
        if len({json.dumps(v, sort_keys=True) for v in clean}) < len(clean):
            problems.append(f"grid.{name}: duplicate values {values!r}")
        grid[name] = clean
    if problems:
        raise SweepConfigError(problems, source)

    config = SweepConfig(
        experiment=exp.name,
        grid=grid,
        seeds=tuple(seeds),
        out=raw.out,
        backend=raw.backend,
        workers=raw.workers,
        scheduler=raw.scheduler,
        description=raw.description,
    )
    for point in config.points():  # cross-field checks of the params model, all before any task runs
        try:
            exp.params.model_validate(point)
        except ValidationError as exc:
            problems.extend(f"grid point {point}: " + p for p in _pydantic_problems(exc))
            if len(problems) >= 5:
                break
    if problems:
        raise SweepConfigError(problems, source)
    return config


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep config file (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SweepConfigError([f"cannot read: {exc.strerror or exc}"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise SweepConfigError([f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"], str(path)) from None
    return make_config(data, source=str(path))


def task_key(experiment: str, params: Mapping[str, Any], seed: int) -> str:
    """``sha256(JSON(experiment, params, seed))``, first 20 hex digits; params with defaults filled in.

    >>> task_key("e", {"b": 1, "a": 2.5}, 3) == task_key("e", {"a": 2.5, "b": 1}, 3)
    True
    >>> task_key("e", {"a": 1}, 0)
    'a7b4fd732e8568e5e11f'
    """
    text = json.dumps({"experiment": experiment, "params": dict(params), "seed": int(seed)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# --------------------------------------------------------------------------- executing one task


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: status ``ok`` with a JSON result, or ``error`` with a one-line error."""

    key: str
    status: str
    result: str | None
    error: str | None
    traceback: str | None
    seconds: float


def _json_default(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"result value of type {type(value).__name__} is not JSON-able")


def json_safe(value: Any) -> Any:
    """``value`` with NaN and ±inf (at any depth of dicts and lists) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``, at most ``limit`` characters."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def execute_task(task: Task) -> Outcome:
    """Run one task (in a worker); an exception becomes an ``error`` outcome, never a crash.

    The row is serialized here (numpy scalars and arrays are converted; NaN and
    ±inf become ``null``), so a result that cannot be stored is the task's error.
    """
    started = time.perf_counter()
    try:
        row = task.run(task.params, task.seed)
        if not isinstance(row, Mapping):
            raise TypeError(f"{task.experiment}.run() must return a dict, got {type(row).__name__}")
        text = json.dumps(json_safe(json.loads(json.dumps(dict(row), default=_json_default))), allow_nan=False)
    except Exception as exc:  # noqa: BLE001 — recorded, the sweep goes on
        return Outcome(task.key, "error", None, one_line(exc), tb.format_exc(limit=30), time.perf_counter() - started)
    return Outcome(task.key, "ok", text, None, None, time.perf_counter() - started)


# --------------------------------------------------------------------------- the results store


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

    def __enter__(self) -> "ResultsStore":
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
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
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


# --------------------------------------------------------------------------- run metadata


def versions(*extra: str) -> dict[str, str]:
    """Versions of Python and of the packages results depend on."""
    out = {"python": platform.python_version()}
    for name in ("pluralign", "numpy", "scipy", "highspy", "pydantic", "matplotlib", *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["platform"] = platform.platform(terse=True)
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_config(run_dir: Path, config: SweepConfig, exp: Experiment) -> None:
    defaults = {k: v for k, v in exp.params().model_dump(mode="json").items() if k not in config.grid} if not any(
        f.is_required() for f in exp.params.model_fields.values()
    ) else {}
    header = f"# pluralign sweep config (resolved), written {_now()}\n"
    if defaults:
        header += "# other parameters at their defaults: " + ", ".join(f"{k}={v!r}" for k, v in defaults.items()) + "\n"
    data = config.to_dict()
    data["out"] = str(run_dir)
    _write_atomic(run_dir / CONFIG_FILE, header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100))


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run directory (released by the OS if the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover — no advisory locks on this platform
        yield
        return
    with open(run_dir / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"{run_dir}: another sweep is running in this directory") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_running(run_dir: str | Path) -> bool:
    """Whether a sweep holds the run directory's lock right now."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return False
    try:
        with open(Path(run_dir) / LOCK_FILE) as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


# --------------------------------------------------------------------------- backends

Record = Callable[[Task, Outcome], None]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def _error_outcome(task: Task, exc: BaseException) -> Outcome:
    return Outcome(task.key, "error", None, one_line(exc), "".join(tb.format_exception(exc)), 0.0)


def _run_serial(tasks: Sequence[Task], record: Record, **_: Any) -> None:
    for task in tasks:
        record(task, execute_task(task))


def _worker_init() -> None:
    """Workers leave Ctrl-C to the driver, and exit if their parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="pluralign-parent-watch", daemon=True).start()


def _run_local(tasks: Sequence[Task], record: Record, *, workers: int, **_: Any) -> None:
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: workers fork from a clean server that has imported the experiment once
    # (forking the driver itself is unsafe once it runs threads, e.g. the progress bar's)
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(sorted({__name__, *(t.run.__module__ for t in tasks[:1])}))
    else:  # pragma: no cover
        ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    queue = iter(tasks)
    inflight: dict[Future, Task] = {}
    window = 2 * workers

    def fill() -> None:
        for task in queue:
            inflight[pool.submit(execute_task, task)] = task
            if len(inflight) >= window:
                return

    def harvest(future: Future) -> None:
        task = inflight.pop(future)
        try:
            outcome = future.result()
        except BrokenProcessPool:
            raise SweepError(
                "a worker process died (out of memory, or a crash in native code?); finished results are kept — "
                "rerun to resume, or run with --backend serial to find the task"
            ) from None
        except Exception as exc:  # noqa: BLE001
            outcome = _error_outcome(task, exc)
        record(task, outcome)

    finished = False
    try:
        fill()
        while inflight:
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                harvest(future)
            fill()
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted or aborted: keep what has finished, stop the rest now
            for future in [f for f in inflight if f.done() and not f.cancelled()]:
                with contextlib.suppress(BaseException):
                    harvest(future)
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.terminate()
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=2)


def _run_dask(tasks: Sequence[Task], record: Record, *, workers: int, scheduler: str | None, **_: Any) -> int:
    """Run on a Dask cluster (started locally with ``workers`` processes if no scheduler); returns its thread count."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("the dask backend needs Dask: pip install 'pluralign[dask]'") from None

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    session = os.urandom(4).hex()
    queue = iter(tasks)
    inflight: dict[str, tuple[Any, Task]] = {}
    pending = as_completed(loop=client.loop)
    try:
        threads = sum(client.nthreads().values())
        window = max(4, 2 * threads)

        def fill() -> None:
            for task in queue:
                future = client.submit(execute_task, task, key=f"pluralign-{task.key}-{session}", pure=False)
                inflight[future.key] = (future, task)
                pending.add(future)
                if len(inflight) >= window:
                    return

        def harvest(future: Any) -> None:
            _, task = inflight.pop(future.key)
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 — e.g. KilledWorker: the task kills workers
                outcome = _error_outcome(task, exc)
            record(task, outcome)

        try:
            fill()
            for future in pending:
                harvest(future)
                fill()
        except BaseException:
            for future, _task in list(inflight.values()):
                if future.status == "finished":
                    with contextlib.suppress(BaseException):
                        harvest(future)
            with contextlib.suppress(Exception):
                client.cancel([f for f, _ in inflight.values()])
            raise
        return threads
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=5)


# Each runs the tasks, calling ``record`` in this process as each finishes; the dask one returns its thread count.
_BACKENDS: dict[str, Callable[..., int | None]] = {"serial": _run_serial, "local": _run_local, "dask": _run_dask}


# --------------------------------------------------------------------------- progress


class _NoProgress:
    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def advance(self, ok: bool) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class _Progress:
    """A rich progress bar on stderr: done/total, rate, elapsed and ETA."""

    def __init__(self, label: str, total: int, done: int):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text("" if speed is None else f"{speed:.3g} tasks/s", style="progress.data.speed")

        self.console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}", style="red"),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, completed=done, failed="")
        self._failed = 0

    def __enter__(self) -> "_Progress":
        self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()

    def advance(self, ok: bool) -> None:
        if not ok:
            self._failed += 1
        self._bar.update(self._task, advance=1, failed=f"{self._failed} failed" if self._failed else "")

    def note(self, text: str) -> None:
        self._bar.console.print(text, markup=False, highlight=False)


class _Notes(_NoProgress):
    """No bar (stderr is not a terminal), but failures are still reported."""

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the driver


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
        except Exception as exc:  # noqa: BLE001
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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- reading runs back


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
