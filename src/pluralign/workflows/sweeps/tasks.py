"""Executing one task (in a worker): its row serialized to JSON, or its exception as a one-line error."""

from __future__ import annotations

import json
import math
import time
import traceback as tb
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pluralign.workflows.sweeps.config import Task

__all__ = ["Outcome", "json_safe", "one_line", "execute_task"]


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
    except Exception as exc:
        return Outcome(task.key, "error", None, one_line(exc), tb.format_exc(limit=30), time.perf_counter() - started)
    return Outcome(task.key, "ok", text, None, None, time.perf_counter() - started)
