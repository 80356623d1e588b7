"""Reproduce registered experiments: each one's quick or full grid through the sweep engine, then one report.

``reproduce(["all"], "runs/quick", quick=True)`` runs every experiment into
``runs/quick/<name>/`` (resumable like any sweep: a second call only runs what is
missing) and writes ``runs/quick/report.html``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pluralign.workflows.experiments import registry
from pluralign.workflows.report import Report, write_report
from pluralign.workflows.sweep import SweepResult, make_config, run_sweep

__all__ = ["Reproduction", "reproduce", "resolve_names"]


@dataclass(frozen=True)
class Reproduction:
    """The sweeps run (one per experiment), the report written, and the wall time."""

    out: Path
    quick: bool
    sweeps: tuple[SweepResult, ...]
    report: Report | None
    seconds: float
    interrupted: bool

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sweeps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "quick": self.quick,
            "seconds": self.seconds,
            "interrupted": self.interrupted,
            "sweeps": [s.to_dict() for s in self.sweeps],
            "report": self.report.to_dict() if self.report else None,
        }


def resolve_names(names: Sequence[str]) -> list[str]:
    """Experiment names, with ``all`` expanded to every registered experiment; unknown → ``KeyError``."""
    known = registry.names()
    out: list[str] = []
    for name in names:
        for n in known if name == "all" else [registry.get(name).name]:
            if n not in out:
                out.append(n)
    if not out:
        raise KeyError("no experiment named (give NAME… or all)")
    return out


def reproduce(
    names: Sequence[str],
    out: str | Path,
    *,
    quick: bool = False,
    backend: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
    report: bool = True,
) -> Reproduction:
    """Run each named experiment's quick/full grid into ``out/<name>/`` and write ``out/report.html``.

    Every experiment's config is validated before the first task runs. After a
    Ctrl-C the remaining experiments are skipped, and the report shows what finished.
    """
    started = time.perf_counter()
    out = Path(out)
    configs = []
    for name in resolve_names(names):
        exp = registry.get(name)
        data = {
            "experiment": name,
            "grid": exp.grid(quick),
            "seeds": exp.seeds(quick),
            "out": str(out / name),
            "backend": backend,
            "description": f"pluralign reproduce {name}{' --quick' if quick else ''}",
        }
        if scheduler is not None:
            data["scheduler"] = scheduler
        configs.append(make_config(data, source=f"experiment {name} ({'quick' if quick else 'full'} grid)"))
    sweeps: list[SweepResult] = []
    interrupted = False
    for config in configs:
        result = run_sweep(config, workers=workers, retry_failed=retry_failed, progress=progress)
        sweeps.append(result)
        if result.interrupted:
            interrupted = True
            break
    written = write_report(out) if report and sweeps else None
    return Reproduction(out, quick, tuple(sweeps), written, time.perf_counter() - started, interrupted)
