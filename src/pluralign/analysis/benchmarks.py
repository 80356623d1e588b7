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

from pluralign.analysis.persuasion import (
    PersuasionResult,
    build_attracted_set_lp,
    build_menu_lp,
    expected,
    joint_value_rows,
    solve_persuasion,
    user_tiebreak_solution,
)
from pluralign.lp import solve_lp, solve_robust
from pluralign.model.kinds import kinds_of
from pluralign.model.market import Market
from pluralign.model.schemes import clean_rows

__all__ = ["opt", "noinfo", "opt_kinds", "noinfo_kinds", "monopoly", "MonopolyResult", "Benchmarks", "benchmarks"]


def opt_kinds(market: Market) -> np.ndarray:
    """``OPT[k] = Σ_x max_a Σ_y P_k[x, y] u_k[a, y]`` per user kind (docs/model.md §14): the aligned
    model reveals x and the kind adds what she knows privately."""
    kinds = kinds_of(market)
    return np.einsum("kxy,kay->kxa", kinds.P, kinds.u).max(axis=-1).sum(axis=-1)


def noinfo_kinds(market: Market) -> np.ndarray:
    """``NOINFO[k] = max_a Σ_{x,y} P_k[x, y] u_k[a, y]`` per user kind."""
    kinds = kinds_of(market)
    return np.einsum("ky,kay->ka", kinds.P.sum(axis=1), kinds.u).max(axis=-1)


def opt(market: Market) -> np.ndarray:
    """``OPT[j] = Σ_{x,z} max_a Σ_y P[x, y, z] u[j, a, y]`` (without private observations
    ``Σ_x max_a Σ_y P[x, y] u[j, a, y]``)."""
    return kinds_of(market).to_users(opt_kinds(market))


def noinfo(market: Market) -> np.ndarray:
    """``NOINFO[j] = Σ_z max_a Σ_{x,y} P[x, y, z] u[j, a, y]`` (without private observations
    ``max_a Σ_{x,y} P[x, y] u[j, a, y]``)."""
    return kinds_of(market).to_users(noinfo_kinds(market))


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
    signals: tuple[str, ...] | None = None
    menu: np.ndarray | None = None

    @classmethod
    def from_persuasion(cls, i: int, j: int, r: PersuasionResult) -> MonopolyResult:
        return cls(i, j, r.provider_utility, r.user_utility, r.scheme, r.margin)

    def scheme_dict(self, market: Market) -> dict:
        """The scheme as ``{x: {signal: prob}}`` (signals are actions, or one action per private
        observation when users know something privately), and the menu ``{z: {x: {action: prob}}}``."""
        if self.signals is None:  # one action per signal: every action listed
            return {x: {a: float(self.scheme[kx, ka]) for ka, a in enumerate(market.actions)}
                    for kx, x in enumerate(market.observations)}
        out = {
            x: {s: float(self.scheme[kx, ks]) for ks, s in enumerate(self.signals) if self.scheme[kx, ks] > 1e-12}
            for kx, x in enumerate(market.observations)
        }
        if self.menu is None:
            return out
        menu = {
            z: {x: {a: float(self.menu[r, kx, ka]) for ka, a in enumerate(market.actions)}
                for kx, x in enumerate(market.observations)}
            for r, z in enumerate(market.private_signals)
        }
        return {"menu": menu}


def monopoly(
    market: Market, provider: int, user: int, *, margin: float = 0.0, menus: bool = False, backend: str = "highs"
) -> MonopolyResult:
    """Provider i's optimal persuasion of user j (no competitor, no participation constraint).

    Among the provider's optimal schemes, the one best for the user is reported.
    With ``margin > 0`` every recommendation is strictly optimal for the user by
    that much, so the result holds under any action tie rule.

    When users observe something privately (docs/model.md §14) one scheme serves all her
    kinds (j, z): its signals are recommendation profiles, one action per z, obedient for each
    kind; with ``menus=True`` she reports z and gets that report's scheme, truthfully
    (incentive constraints). Utilities are then P(z)-weighted over her kinds.
    """
    if market.has_private:
        return _monopoly_kinds(market, provider, user, margin=margin, menus=menus, backend=backend)
    r = solve_persuasion(market.P, market.u[user], market.U[provider, user], margin=margin, backend=backend)
    if not r.feasible:  # only possible with a margin
        raise ValueError(f"no scheme is obedient with margin {margin}; lower the margin")
    return MonopolyResult.from_persuasion(provider, user, r)


def _monopoly_kinds(market: Market, provider: int, user: int, *, margin: float, menus: bool, backend: str) -> MonopolyResult:
    kinds = kinds_of(market)
    members = [int(k) for k in np.flatnonzero(kinds.user == user)]
    K = kinds.n_kinds
    U = kinds.U[provider]
    free, none = np.full(K, -np.inf), np.full(K, np.inf)
    if menus:
        lp, layout = build_menu_lp(kinds.P, kinds.u, U, kinds.weight, members, members, leave=np.zeros(K),
                                   participation=free, outside_cap=none, obedience_margin=margin)
        user_row = np.zeros(lp.num_cols)
        for t, k in enumerate(members):
            block = slice(t * layout.n_x * layout.n_a, (t + 1) * layout.n_x * layout.n_a)
            user_row[block] = kinds.weight[k] * expected(kinds.P, kinds.u, k).ravel()
    else:
        lp, S = build_attracted_set_lp(kinds.P, kinds.u, U, kinds.weight, members, free, np.zeros(K),
                                       participation=free, outside_cap=none, obedience_margin=margin, members=members)
        values = joint_value_rows(kinds.P, kinds.u, members, S).toarray()  # [t, x·s]
        user_row = np.zeros(lp.num_cols)
        user_row[: values.shape[1]] = kinds.weight[members] @ values
    res = solve_robust(lp) if backend == "highs" else solve_lp(lp, backend=backend)
    if res.status == "infeasible":
        raise ValueError(f"no scheme is obedient with margin {margin}; lower the margin")
    res.require_optimal("monopoly LP")
    x = user_tiebreak_solution(lp, res.objective, user_row, tol=1e-9, backend=backend)  # among its optima, hers
    provider_utility = float(lp.c @ x + lp.offset)
    user_utility = float(user_row @ x)
    n_x = market.n_observations
    x = np.where(np.abs(x) < 1e-7, 0.0, x)  # solver round-off on the schemes' entries
    if menus:
        menu = layout.schemes(x)  # [z, x, a] in the order of the user's kinds
        full = np.zeros((market.n_private, n_x, market.n_actions))
        full[:, :, 0] = 1.0
        for t, k in enumerate(members):
            full[kinds.private[k]] = menu[t]
        return MonopolyResult(provider, user, provider_utility, user_utility, full[kinds.private[members[0]]], margin,
                              menu=full)
    n_s = S.shape[0]
    scheme = clean_rows(x[: n_x * n_s].reshape(n_x, n_s))
    zs = [market.private_signals[kinds.private[k]] for k in members]
    labels = tuple(", ".join(f"{z}→{market.actions[a]}" for z, a in zip(zs, row)) for row in S)
    return MonopolyResult(provider, user, provider_utility, user_utility, scheme, margin, signals=labels)


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
    menus: bool = False
    kind_opt: np.ndarray | None = None
    kind_noinfo: np.ndarray | None = None

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

    def to_dict(self, kinds: bool = False) -> dict:
        """The JSON shape printed by ``pluralign analyze --json`` (``kinds=True``: also per user kind)."""
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
                            "scheme": self.monopoly[i][j].scheme_dict(m),
                        }
                        for i in range(m.n_providers)
                    },
                }
            )
        out = {
            "market": m.name,
            "users": users,
            "tie_rule": {"monopoly_actions": "recommended", "monopoly_schemes": "best for the user among the provider's optima"},
            "margin": self.margin,
            "seconds": self.seconds,
        }
        if m.has_private:
            out["menus"] = self.menus
        if kinds:
            k = kinds_of(m)
            out["kinds"] = [
                {"name": k.names[n], "user": m.users[k.user[n]],
                 "private": m.private_signals[k.private[n]] if m.has_private else None,
                 "mass": float(k.mass[n]), "opt": float(self.kind_opt[n]), "noinfo": float(self.kind_noinfo[n])}
                for n in range(k.n_kinds)
            ]
        return out


def benchmarks(market: Market, *, margin: float = 0.0, menus: bool = False, backend: str = "highs") -> Benchmarks:
    """OPT, NOINFO (per user, and per kind) and every provider's monopoly persuasion of every user
    (``menus``: users report their private observation, docs/model.md §14)."""
    started = time.perf_counter()
    mono = tuple(
        tuple(monopoly(market, i, j, margin=margin, menus=menus, backend=backend) for j in range(market.n_users))
        for i in range(market.n_providers)
    )
    return Benchmarks(market, opt(market), noinfo(market), mono, time.perf_counter() - started, margin,
                      menus=bool(menus), kind_opt=opt_kinds(market), kind_noinfo=noinfo_kinds(market))
