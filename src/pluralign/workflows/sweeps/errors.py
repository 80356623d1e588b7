"""The exceptions a sweep raises: a config that cannot run, and a sweep that cannot start or go on."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SweepConfigError", "SweepError"]


class SweepConfigError(ValueError):
    """A sweep config that cannot run; ``problems`` are lines ``field.path: what is wrong``."""

    def __init__(self, problems: Sequence[str], source: str = "config"):
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


class SweepError(RuntimeError):
    """A sweep that could not start or had to stop (busy run directory, missing Dask, dead worker)."""
