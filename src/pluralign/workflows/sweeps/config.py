"""Sweep configs: validating a config (pydantic) into a :class:`SweepConfig`, its tasks and their keys.

Every problem names its field (and, read from a file, its line); values in messages are
cut and escaped (:mod:`pluralign.model.messages`); seeds, tasks and workers are bounded.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pluralign.model import documents, limits
from pluralign.model.documents import DocumentError, LineMap
from pluralign.model.messages import LongInteger, bad_char, describe, escape, hint, show
from pluralign.model.validation import format_path, key_part
from pluralign.workflows.experiments import registry
from pluralign.workflows.sweeps.errors import SweepConfigError

__all__ = ["SweepConfig", "Task", "make_config", "load_config", "task_key"]


MAX_WORKERS = 1024  # worker processes of a sweep (config and --workers)


class _RawConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: str
    grid: dict[str, Any] = Field(default_factory=dict)
    seeds: Any = 1  # a count or a list; checked by make_config
    out: str | None = None
    backend: Literal["local", "serial", "dask"] = "local"
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS)
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
_HINT_KIND = {"int": "number", "float": "number", "bool": "boolean", "string": "name"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Problems:
    """Problems as ``(path, message)``, printed ``field.path: message (line N)`` when the line is known."""

    def __init__(self, lines: LineMap | None = None):
        self.lines = lines
        self.items: list[str] = []

    def add(self, path: Sequence[Any], message: str) -> None:
        line = self.lines.lookup(tuple(path)) if self.lines is not None else None
        where = f"{format_path(tuple(path))}: " if path else ""
        self.items.append(escape(where + message + (f" (line {line})" if line is not None and path else "")))

    def pydantic(self, exc: ValidationError, prefix: Sequence[Any] = (), first_only: bool = False) -> None:
        seen = set()
        for err in exc.errors():
            loc = [*prefix, *_loc(err["loc"])]
            text = _problem(err)
            if (tuple(map(str, loc)), text) in seen:
                continue
            seen.add((tuple(map(str, loc)), text))
            self.add(loc, text)
            if first_only:
                break

    def __bool__(self) -> bool:
        return bool(self.items)


def _loc(loc: Iterable[Any]) -> list[Any]:
    """pydantic's location; a dict key (marked by a following ``[key]``) printed as a key, never as ``[1]``."""
    out: list[Any] = []
    for part in loc:
        if part == "[key]" and out:
            out[-1] = key_part(out[-1])
        else:
            out.append(part)
    return out


def _problem(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return "unknown field"
    text = _EXPECTED.get(kind)
    if text is None:
        msg = str(err.get("msg", "invalid value"))
        text = msg[:1].lower() + msg[1:]
    extra = hint(value, _HINT_KIND.get(kind.split("_")[0], ""))
    return f"{text}, got {show(value)}{extra}"


def _pydantic_problems(exc: ValidationError, prefix: Sequence[Any] = ()) -> list[str]:
    problems = _Problems()
    problems.pydantic(exc, prefix)
    return problems.items


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

    def replace(self, **changes: Any) -> SweepConfig:
        return SweepConfig(**{**self.__dict__, **changes})


def make_config(data: Any, source: str = "config", lines: LineMap | None = None) -> SweepConfig:
    """Validate a sweep config mapping; raise :class:`SweepConfigError` naming every bad field.

    Bounded before anything is enumerated: at most ``limits.MAX_SEEDS`` seeds, each in
    ``[0, 2**63)``, and at most ``limits.MAX_TASKS`` grid points × seeds; duplicate
    seeds and values are found with sets (linear). ``lines`` (from the file's reader)
    adds ``(line N)`` to each problem.
    """
    if not isinstance(data, Mapping):
        raise SweepConfigError([f"expected a mapping with 'experiment', 'grid' and 'seeds', got {describe(data)}"], source)
    problems = _Problems(lines)
    data = dict(data)
    for k in [k for k in data if k not in _RawConfig.model_fields]:
        problems.add([key_part(k)], f"unknown field (fields: {', '.join(_RawConfig.model_fields)})")
        del data[k]
    _check_texts(data, problems)
    try:
        raw = _RawConfig.model_validate(data)
    except ValidationError as exc:
        problems.pydantic(exc)
        raise SweepConfigError(problems.items, source) from None
    try:
        exp = registry.get(raw.experiment)
    except KeyError as exc:
        problems.add(["experiment"], escape(str(exc.args[0]), 300))
        raise SweepConfigError(problems.items, source) from None

    seeds = _seeds(raw.seeds, problems)
    if raw.scheduler is not None and raw.backend != "dask":
        problems.add(["scheduler"], f"only used with backend dask, but backend is {raw.backend!r}")

    fields = exp.params.model_fields
    grid: dict[str, list[Any]] = {}
    for name, values in raw.grid.items():
        if name not in fields:
            problems.add(["grid", name], f"unknown parameter of experiment {exp.name!r} (parameters: {', '.join(fields)})")
            continue
        listed = isinstance(values, list)
        values = values if listed else [values]
        if not values:
            problems.add(["grid", name], "empty list of values")
            continue
        clean = []
        for k, value in enumerate(values):
            where = ["grid", name, k] if listed else ["grid", name]
            try:
                clean.append(exp.params.model_validate({name: value}).model_dump(mode="json")[name])
            except ValidationError as exc:
                mine = [e for e in exc.errors() if e["loc"][:1] == (name,)]
                for e in mine[:1]:
                    problems.add(where, _problem(e))
                if not mine:  # the value is fine; another (required) field is what fails
                    clean.append(value)
        if len({json.dumps(v, sort_keys=True, default=show) for v in clean}) < len(clean):
            problems.add(["grid", name], f"duplicate values {show(values)}")
        grid[name] = clean
    n_tasks = math.prod(len(v) for v in grid.values()) * max(1, len(seeds))
    if n_tasks > limits.MAX_TASKS:
        problems.add([], f"too many tasks: {n_tasks:,} grid points × seeds (the limit is {limits.MAX_TASKS:,})")
    if problems:
        raise SweepConfigError(problems.items, source)

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
            problems.items.extend(f"grid point {show(point)}: " + p for p in _pydantic_problems(exc))
            if len(problems.items) >= 5:
                break
    if problems:
        raise SweepConfigError(problems.items, source)
    return config


def _check_texts(data: dict, problems: _Problems) -> None:
    """Text fields hold printable text (a NUL or a newline in ``out`` would break paths and messages)."""
    for field in ("experiment", "out", "scheduler"):
        value = data.get(field)
        if isinstance(value, str) and bad_char(value) is not None:
            problems.add([field], f"holds the character {bad_char(value)}; write printable text")
            del data[field]


def _seeds(value: Any, problems: _Problems) -> list[int]:
    """A number of seeds (``range(n)``) or a list of distinct seeds in ``[0, 2**63)``; bounded by ``MAX_SEEDS``."""
    if _is_int(value):
        if value < 1:
            problems.add(["seeds"], f"expected at least 1 seed, got {show(value)}")
            return []
        if value > limits.MAX_SEEDS:
            problems.add(["seeds"], f"too many seeds: {show(value)} (the limit is {limits.MAX_SEEDS:,})")
            return []
        return list(range(value))
    if not isinstance(value, list):
        problems.add(["seeds"], f"expected a number of seeds or a list of seeds, got {show(value)}{hint(value, 'number')}")
        return []
    if not value:
        problems.add(["seeds"], "empty list")
        return []
    if len(value) > limits.MAX_SEEDS:
        problems.add(["seeds"], f"too many seeds: {len(value):,} (the limit is {limits.MAX_SEEDS:,})")
        return []
    seeds: list[int] = []
    seen: set[int] = set()
    for k, s in enumerate(value):
        if not _is_int(s):
            problems.add(["seeds", k], f"expected an integer, got {show(s)}{hint(s, 'number')}")
        elif s < 0:
            problems.add(["seeds", k], f"seeds must be non-negative, got {show(s)}")
        elif s >= limits.SEED_LIMIT:
            problems.add(["seeds", k], f"seeds must be below 2**63, got {show(s)}")
        elif s in seen:
            problems.add(["seeds", k], f"duplicate seed {s}")
        else:
            seen.add(s)
            seeds.append(s)
    return seeds


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep config file (YAML, or JSON for ``.json``), within ``limits.MAX_CONFIG_BYTES``.

    Read through :mod:`pluralign.model.documents`: invalid UTF-8, deep nesting, alias
    bombs, duplicate keys and integers too long to convert are problems with a line.
    """
    path = Path(path)
    source = escape(str(path), 200)
    try:
        text = documents.read_text(path, limits.MAX_CONFIG_BYTES)
        fmt = "json" if path.suffix.lower() == ".json" else "yaml"
        data, lines = documents.parse(text, fmt, max_values=limits.MAX_CONFIG_VALUES)
    except DocumentError as exc:
        raise SweepConfigError([_document_problem(*p) for p in exc.problems], source) from None
    long_ints = _long_integers(data)
    if long_ints:
        problems = _Problems(lines)
        for where, value in long_ints:
            problems.add(where, f"{show(value)} (at most {limits.MAX_INT_CHARS} characters)")
        raise SweepConfigError(problems.items, source)
    return make_config(data, source=source, lines=lines)


def _document_problem(path: tuple, message: str, line: int | None) -> str:
    if path:
        return escape(f"{format_path(path)}: {message}" + (f" (line {line})" if line else ""))
    return escape(f"line {line}: {message}" if line else message)


def _long_integers(data: Any) -> list[tuple[list, LongInteger]]:
    """Where integers too long to read sit (iteratively; the reader has bounded the expanded size)."""
    found, stack = [], [([], data)]
    while stack and len(found) < 5:
        path, value = stack.pop()
        if isinstance(value, LongInteger):
            found.append((path, value))
        elif isinstance(value, dict):
            stack.extend(([*path, key_part(k)], v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(([*path, k], v) for k, v in enumerate(value))
    return found


def task_key(experiment: str, params: Mapping[str, Any], seed: int) -> str:
    """``sha256(JSON(experiment, params, seed))``, first 20 hex digits; params with defaults filled in.

    >>> task_key("e", {"b": 1, "a": 2.5}, 3) == task_key("e", {"a": 2.5, "b": 1}, 3)
    True
    >>> task_key("e", {"a": 1}, 0)
    'a7b4fd732e8568e5e11f'
    """
    text = json.dumps({"experiment": experiment, "params": dict(params), "seed": int(seed)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]
