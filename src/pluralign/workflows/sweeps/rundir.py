"""The run directory: its file names, run metadata (versions, the resolved config), atomic writes and its lock."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from pluralign.workflows.experiments.registry import Experiment
from pluralign.workflows.sweeps.config import SweepConfig
from pluralign.workflows.sweeps.errors import SweepError

__all__ = ["STORE_FILE", "CONFIG_FILE", "RUN_FILE", "LOCK_FILE", "versions", "is_running"]


STORE_FILE = "results.sqlite"
CONFIG_FILE = "config.yaml"
RUN_FILE = "run.json"
LOCK_FILE = ".lock"


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
    return datetime.now(UTC).isoformat(timespec="seconds")


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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
