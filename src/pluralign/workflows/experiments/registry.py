"""The experiment registry: named, parameterized, seeded computations that sweeps run.

An :class:`Experiment` is one task function ``run(params, seed) -> row`` plus what
is needed to sweep, plot and summarize it:

* ``params`` — a pydantic model class whose fields are the task parameters, with
  types and defaults (``extra="forbid"``, so a misspelt parameter is an error);
* ``run(params, seed)`` — computes one task and returns one flat, JSON-able row
  (``dict`` of numbers, strings, booleans, ``None``). It must be a top-level
  function of an importable module (it is pickled by reference to worker
  processes and Dask workers) and deterministic in ``(params, seed)``;
* ``quick_grid`` / ``full_grid`` (parameter → values) and ``quick_seeds`` /
  ``full_seeds`` (number of seeds ``0 … n−1``) — what ``pluralign reproduce``
  runs, with and without ``--quick``;
* ``figures(rows)`` → ``[(name, matplotlib Figure), …]`` and ``summary(rows)`` →
  a small table ``[{column: value}, …]``, for reports.

The ``rows`` given to ``figures`` and ``summary`` are the finished tasks, each
``{**params, "seed": seed, **result}`` (result keys shadow parameter names).

Experiments register themselves with :func:`register` when their module is
imported; the modules listed in :data:`EXPERIMENT_MODULES` are imported on the
first call of :func:`names` or :func:`get`.

>>> from pluralign.workflows.experiments import registry
>>> "value_of_information" in registry.names()
True
>>> registry.get("value_of_information").params().n_states
2
>>> registry.get("nope")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
KeyError: "unknown experiment 'nope' (known: ...value_of_information...)"
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = [
    "EXPERIMENT_MODULES",
    "Experiment",
    "register",
    "get",
    "names",
    "experiments",
    "group_rows",
    "mean_sem",
    "grid_size",
    "product",
    "varying",
]

#: Modules that define experiments; imported (once, lazily) by :func:`names` and :func:`get`.
#: Each calls :func:`register` at import time. The experiments of issue 5 are appended here.
EXPERIMENT_MODULES: tuple[str, ...] = (
    "pluralign.workflows.experiments.personalization_vs_anonymity",
    "pluralign.workflows.experiments.best_ai_selection",
    "pluralign.workflows.experiments.diversity_curve",
    "pluralign.workflows.experiments.pluralistic_coverage",
    "pluralign.workflows.experiments.value_of_information",
    "pluralign.workflows.experiments.competition_dynamics",
    "pluralign.workflows.experiments.regimes_compared",
)

Row = dict[str, Any]


def _no_figures(rows: list[Row]) -> list:
    return []


def _no_summary(rows: list[Row]) -> list[Row]:
    return []


@dataclass(frozen=True, eq=False)
class Experiment:
    """A named, seeded task over typed parameters; see the module docstring."""

    name: str
    description: str
    params: type[BaseModel]
    run: Callable[[Any, int], Row]
    quick_grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    full_grid: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    quick_seeds: int = 3
    full_seeds: int = 20
    figures: Callable[[list[Row]], list] = _no_figures
    summary: Callable[[list[Row]], list[Row]] = _no_summary

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"experiment name must be letters, digits, '_' or '-', got {self.name!r}")
        if not (isinstance(self.params, type) and issubclass(self.params, BaseModel)):
            raise TypeError(f"experiment {self.name}: params must be a pydantic model class")
        if self.params.model_config.get("extra") != "forbid":
            raise ValueError(f"experiment {self.name}: params model must set model_config = ConfigDict(extra='forbid')")
        for label, grid in (("quick_grid", self.quick_grid), ("full_grid", self.full_grid)):
            unknown = sorted(set(grid) - set(self.params.model_fields))
            if unknown:
                raise ValueError(f"experiment {self.name}: {label} has unknown parameters {unknown}")
        if self.quick_seeds < 1 or self.full_seeds < 1:
            raise ValueError(f"experiment {self.name}: quick_seeds and full_seeds must be at least 1")

    def grid(self, quick: bool) -> dict[str, list[Any]]:
        """The quick or full grid, with every value list copied."""
        return {k: list(v) for k, v in (self.quick_grid if quick else self.full_grid).items()}

    def seeds(self, quick: bool) -> list[int]:
        """Seeds ``0 … n−1`` of the quick or full run."""
        return list(range(self.quick_seeds if quick else self.full_seeds))

    def n_tasks(self, quick: bool) -> int:
        """Grid points × seeds of the quick or full run."""
        return grid_size(self.grid(quick)) * len(self.seeds(quick))

    def parameters(self) -> dict[str, Any]:
        """Parameter name → default (``...`` for required ones)."""
        return {
            name: (f.default if not f.is_required() else ...)
            for name, f in self.params.model_fields.items()
        }

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}: {', '.join(self.params.model_fields)})"


_REGISTRY: dict[str, Experiment] = {}
_loaded = False


def register(experiment: Experiment, *, replace: bool = False) -> Experiment:
    """Add an experiment to the registry (a second one of the same name is an error unless ``replace``)."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"register() takes an Experiment, got {type(experiment).__name__}")
    old = _REGISTRY.get(experiment.name)
    reloaded = old is not None and old.run.__module__ == experiment.run.__module__  # the same module imported again
    if old is not None and old is not experiment and not (replace or reloaded):
        raise ValueError(f"an experiment named {experiment.name!r} is already registered (by {old.run.__module__})")
    _REGISTRY[experiment.name] = experiment
    return experiment


def _load() -> None:
    """Import the modules of :data:`EXPERIMENT_MODULES` (once they all import, never again)."""
    global _loaded
    if _loaded:
        return
    for module in EXPERIMENT_MODULES:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ImportError(f"cannot load experiment module {module}: {type(exc).__name__}: {exc}") from exc
    _loaded = True


def _order(experiment: Experiment) -> int:
    module = experiment.run.__module__
    return EXPERIMENT_MODULES.index(module) if module in EXPERIMENT_MODULES else len(EXPERIMENT_MODULES)


def names() -> list[str]:
    """Names of the registered experiments: those of :data:`EXPERIMENT_MODULES` in its order, then the others."""
    return [e.name for e in experiments()]


def experiments() -> list[Experiment]:
    """The registered experiments, in the order of :func:`names`."""
    _load()
    return sorted(_REGISTRY.values(), key=_order)  # stable: registration order within a rank


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r} (known: {', '.join(names()) or 'none'})") from None


# --------------------------------------------------------------------------- tools for figures and summaries


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    """Number of grid points: the product of the value counts (1 for an empty grid)."""
    return math.prod(len(v) for v in grid.values())


def group_rows(rows: Iterable[Row], by: Sequence[str]) -> dict[tuple, list[Row]]:
    """Rows grouped by the values of the columns ``by``, groups in sorted key order.

    >>> group_rows([{"n": 2, "v": 1}, {"n": 1, "v": 3}, {"n": 2, "v": 5}], ["n"])
    {(1,): [{'n': 1, 'v': 3}], (2,): [{'n': 2, 'v': 1}, {'n': 2, 'v': 5}]}
    """
    groups: dict[tuple, list[Row]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(c) for c in by), []).append(row)
    return dict(sorted(groups.items(), key=lambda kv: tuple((v is None, str(type(v)), v) for v in kv[0])))


def mean_sem(values: Iterable[float | None]) -> tuple[float, float, int]:
    """Mean, standard error of the mean, and count of the non-missing values (``nan`` if none).

    ``sem = sd / √n`` with the sample standard deviation (0 for a single value).

    >>> m, sem, n = mean_sem([1.0, 2.0, 3.0, None])
    >>> m, round(sem, 6), n
    (2.0, 0.57735, 3)
    """
    xs = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n = len(xs)
    if n == 0:
        return math.nan, math.nan, 0
    mean = math.fsum(xs) / n
    if n == 1:
        return mean, 0.0, 1
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    return mean, math.sqrt(var / n), n


def varying(rows: Sequence[Row], columns: Iterable[str]) -> list[str]:
    """The columns among ``columns`` that take more than one value across ``rows``."""
    return [c for c in columns if len({repr(r.get(c)) for r in rows}) > 1]


def product(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Grid points in order: the last parameter varies fastest."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
