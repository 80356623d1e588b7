"""The market files bundled with pluralign (``pluralign/catalog/markets/*.yaml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pluralign.model.io import load_market
from pluralign.model.market import Market

__all__ = ["names", "path", "load", "choice"]


def _folder():
    return resources.files("pluralign.catalog") / "markets"


def names() -> list[str]:
    """Names of the bundled markets, sorted."""
    return sorted(p.name.rsplit(".", 1)[0] for p in _folder().iterdir() if p.name.endswith((".yaml", ".json")))


def choice(value: str, others: tuple[str, ...] = (), what: str = "") -> str:
    """``value`` if it names a bundled market or one of ``others`` (markets a caller generates,
    described by ``what``); otherwise a ValueError listing both."""
    if value in others or value in names():
        return value
    either = f"{what} or " if what else ""
    raise ValueError(f"expected {either}a bundled market ({', '.join(names())}), got {value!r}")


def path(name: str) -> Path:
    """Path of a bundled market file."""
    for suffix in (".yaml", ".json"):
        candidate = _folder() / f"{name}{suffix}"
        if candidate.is_file():
            return Path(str(candidate))
    raise KeyError(f"no bundled market {name!r}; bundled: {', '.join(names())}")


def load(name: str) -> Market:
    """Load a bundled market by name (see :func:`names`)."""
    return load_market(path(name))
