"""Sweep configs: validating a config (pydantic) into a :class:`SweepConfig`, its tasks and their keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pluralign.workflows.experiments import registry
from pluralign.workflows.sweeps.errors import SweepConfigError

__all__ = ["SweepConfig", "Task", "make_config", "load_config", "task_key"]


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
