"""Size limits of the exact methods, and the error that says what to change (docs/model.md §8, §15).

>>> exact_size(3, 2)
(8, 8)
>>> check_size(11, 2)
Traceback (most recent call last):
...
pluralign.analysis.limits.SizeError: the exact anonymous best response for 11 user types x 2 actions needs up to 2048 LPs with up to 2048 joint signals each (limits: max_kinds=10, max_signals=8192); merge similar user types, drop actions no user ever takes, raise the limits, or use method='heuristic' (not certified)
"""

from __future__ import annotations

__all__ = ["SizeError", "MAX_KINDS", "MAX_SIGNALS", "MAX_PROFILES", "exact_size", "check_size"]

MAX_KINDS = 10
MAX_SIGNALS = 8192
MAX_PROFILES = 1_000_000


class SizeError(ValueError):
    """An exact computation would be too large; the message says what to change."""


def exact_size(n_kinds: int, n_actions: int) -> tuple[int, int]:
    """``(number of LPs, signals of the largest LP)`` = ``(2^m, |A|^m)`` of attracted-set enumeration."""
    return 2**n_kinds, n_actions**n_kinds


def check_size(n_kinds: int, n_actions: int, max_kinds: int = MAX_KINDS, max_signals: int = MAX_SIGNALS) -> None:
    """Raise :class:`SizeError`, saying what to change, when attracted-set enumeration is out of reach."""
    n_lps, n_sig = exact_size(n_kinds, n_actions)
    if n_kinds > max_kinds or n_sig > max_signals:
        raise SizeError(
            f"the exact anonymous best response for {n_kinds} user types x {n_actions} actions needs up to "
            f"{n_lps} LPs with up to {n_sig} joint signals each (limits: max_kinds={max_kinds}, "
            f"max_signals={max_signals}); merge similar user types, drop actions no user ever takes, "
            "raise the limits, or use method='heuristic' (not certified)"
        )
