"""Benchmarks: what a perfectly aligned model, no information, and a monopolist give (docs/model.md §6).

* ``OPT_j = Σ_x max_a Σ_y P[x, y] u_j(a, y)`` — a perfectly aligned common model reveals x;
* ``NOINFO_j = max_a Σ_{x,y} P[x, y] u_j(a, y)`` — an uninformative market;
* ``MONOPOLY_{i,j}`` — provider i alone persuades user j (the persuasion LP of
  :mod:`pluralign.analysis.persuasion`); reported with both parties' utilities
  and the optimal recommendation scheme.

>>> from pluralign.catalog import load
>>> m = load("prosecutor")
>>> round(float(opt(m)[0]), 6), round(float(noinfo(m)[0]), 6)
(1.0, 0.7)
>>> r = monopoly(m, provider=0, user=0)
>>> round(r.provider_utility, 6), round(r.user_utility, 6)
(0.6, 0.7)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pluralign.analysis.persuasion import PersuasionResult, solve_persuasion
from pluralign.model.market import Market

__all__ = ["opt", "noinfo", "monopoly", "MonopolyResult", "Benchmarks", "benchmarks"]


def opt(market: Market) -> np.ndarray:
    """``OPT[j] = Σ_x max_a Σ_y P[x, y] u[j, a, y]``."""
    return np.einsum("xy,jay->jxa", market.P, market.u).max(axis=-1).sum(axis=-1)


def noinfo(market: Market) -> np.ndarray:
    """``NOINFO[j] = max_a Σ_{x,y} P[x, y] u[j, a, y]``."""
    return np.einsum("y,jay->ja", market.P.sum(axis=0), market.u).max(axis=-1)


@dataclass(frozen=True, eq=False)
class MonopolyResult:
    """Provider ``provider`` alone persuading user ``user`` (indices into the market)."""

    provider: int
    user: int
    provider_utility: float
    user_utility: float
    scheme: np.ndarray
    margin: float
    tie_rule: str = "recommended (the user follows a recommendation she is indifferent about)"

    @classmethod
    def from_persuasion(cls, i: int, j: int, r: PersuasionResult) -> "MonopolyResult":
        return cls(i, j, r.provider_utility, r.user_utility, r.scheme, r.margin)


def monopoly(market: Market, provider: int, user: int, *, margin: float = 0.0, backend: str = "highs") -> MonopolyResult:
    """Provider i's optimal persuasion of user j (no competitor, no participation constraint).

    Among the provider's optimal schemes, the one best for the user is reported.
    With ``margin > 0`` every recommendation is strictly optimal for the user by
    that much, so the result holds under any action tie rule.
    """
    r = solve_persuasion(market.P, market.u[user], market.U[provider, user], margin=margin, backend=backend)
    if not r.feasible:  # only possible with a margin
        raise ValueError(f"no scheme is obedient with margin {margin}; lower the margin")
    return MonopolyResult.from_persuasion(provider, user, r)


@dataclass(frozen=True, eq=False)
class Benchmarks:
    """All benchmarks of a market: ``opt[j]``, ``noinfo[j]``, ``monopoly[i][j]``."""

    market: Market
    opt: np.ndarray
    noinfo: np.ndarray
    monopoly: tuple[tuple[MonopolyResult, ...], ...]
    seconds: float
    margin: float = 0.0
    info: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        from pluralign.html import table

        m = self.market
        head = ("user", "mass", "OPT", "NOINFO") + tuple(f"monopoly by {p} (user, provider)" for p in m.providers)
        rows = [
            (u, m.p[j], self.opt[j], self.noinfo[j])
            + tuple(f"{self.monopoly[i][j].user_utility:.4g}, {self.monopoly[i][j].provider_utility:.4g}"
                    for i in range(m.n_providers))
            for j, u in enumerate(m.users)
        ]
        return table(f"Benchmarks of {m.name}", head, rows)

    def to_dict(self) -> dict:
        """The JSON shape printed by ``pluralign analyze --json``."""
        m = self.market
        users = []
        for j, name in enumerate(m.users):
            users.append(
                {
                    "name": name,
                    "mass": float(m.p[j]),
                    "opt": float(self.opt[j]),
                    "noinfo": float(self.noinfo[j]),
                    "monopoly": {
                        m.providers[i]: {
                            "user_utility": float(self.monopoly[i][j].user_utility),
                            "provider_utility": float(self.monopoly[i][j].provider_utility),
                            "scheme": {
                                x: {a: float(self.monopoly[i][j].scheme[kx, ka]) for ka, a in enumerate(m.actions)}
                                for kx, x in enumerate(m.observations)
                            },
                        }
                        for i in range(m.n_providers)
                    },
                }
            )
        return {
            "market": m.name,
            "users": users,
            "tie_rule": {"monopoly_actions": "recommended", "monopoly_schemes": "best for the user among the provider's optima"},
            "margin": self.margin,
            "seconds": self.seconds,
        }


def benchmarks(market: Market, *, margin: float = 0.0, backend: str = "highs") -> Benchmarks:
    """OPT, NOINFO and every provider's monopoly persuasion of every user."""
    started = time.perf_counter()
    mono = tuple(
        tuple(monopoly(market, i, j, margin=margin, backend=backend) for j in range(market.n_users))
        for i in range(market.n_providers)
    )
    return Benchmarks(market, opt(market), noinfo(market), mono, time.perf_counter() - started, margin)
