"""The finite normal-form game a policy class induces (docs/model.md §5).

Restrict every provider to a finite class C of schemes (partitions of X, or deterministic
recommendation maps: :mod:`pluralign.analysis.policies`). A provider's *strategy* is one
policy from C (anonymous) or one per user (personalized: |C|^m strategies). The payoff
table ``payoffs[s_1, ..., s_k, i] = Π_i`` is computed with the users' own rule — provider
ties included: under ``provider_tie="uniform"`` a tied user is split between the tied
providers, exactly as :func:`pluralign.model.users.respond` does.

Converters: :meth:`InducedGame.to_gambit` (a ``pygambit.Game``, for cross-checks) and
:meth:`InducedGame.payoff_arrays` (QuantEcon's layout: player i's array has axes
(own strategy, strategies of players i+1, ..., k−1, 0, ..., i−1)).

>>> from pluralign.catalog import load
>>> from pluralign.model.users import ResponseRule
>>> g = induced_game(load("match_mismatch"), "anonymous", policy_class="partitions", rule=ResponseRule(), mode="actions")
>>> g.payoffs.shape, [tuple(map(int, s)) for s in pure_equilibria(g.payoffs)]
((2, 2, 2), [(0, 0), (0, 1), (1, 0), (1, 1)])
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pluralign.analysis.limits import MAX_PROFILES, SizeError
from pluralign.analysis.policies import PolicyClass
from pluralign.analysis.policies import policy_class as class_schemes
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import ResponseRule, outcomes, provider_shares, scheme_values, tolerances

__all__ = ["InducedGame", "induced_game", "policy_tables", "payoff_table", "pure_equilibria"]


def pure_equilibria(payoffs: np.ndarray, tol: float = 1e-9) -> list[tuple[int, ...]]:
    """Pure equilibria of a normal-form game with ``payoffs[s_1, ..., s_k, i]``.

    A profile is one when for every player i, ``payoffs[s, i] ≥ max_{s_i'} payoffs[s_i', s_{−i}, i] − tol``.
    """
    k = payoffs.shape[-1]
    if payoffs.ndim != k + 1:
        raise ValueError(f"payoffs must have one axis per player plus one; got shape {payoffs.shape}")
    ok = np.ones(payoffs.shape[:-1], dtype=bool)
    for i in range(k):
        pi = payoffs[..., i]
        ok &= pi >= pi.max(axis=i, keepdims=True) - tol
    return [tuple(int(v) for v in t) for t in np.argwhere(ok)]


def policy_tables(market: Market, schemes: np.ndarray, rule: ResponseRule) -> tuple[np.ndarray, np.ndarray]:
    """``V[c, j]`` = value of policy c for user j; ``W[c, j, i]`` = E[U_i(j)] when j consults a provider playing c."""
    m = market.n_users
    sig = np.broadcast_to(schemes[:, None], (schemes.shape[0], m) + schemes.shape[1:])
    V = scheme_values(market.P, market.u, sig)
    mu = outcomes(market.P, market.u, sig, rule)
    return V, np.einsum("cjay,ijay->cji", mu, market.U)


def payoff_table(market: Market, V, W, pols: np.ndarray, rule: ResponseRule, mode: str, users=None) -> np.ndarray:
    """Payoffs ``[N, k]`` of N profiles given per-user policy indices ``pols[k, N, m']`` for the users
    ``users`` (all by default; ``V``/``W`` restricted to them), under the users' rule."""
    users = np.arange(market.n_users) if users is None else np.asarray(users)
    k, N, mm = pols.shape
    cols = np.arange(mm)
    values = V[pols, cols]  # [k, N, m']
    shares = provider_shares(values, rule, tolerances(market.u[users], rule))  # [k, N, m']
    own = W[pols, cols]  # [k, N, m', k]: E[U_i'] when the user consults provider o
    if mode == "actions":
        pay = np.einsum("onm,onmi->nmi", shares, own)
    else:
        pay = np.einsum("inm,inmi->nmi", shares, own)
    return np.einsum("nmi,m->ni", pay, market.p[users])


@dataclass(frozen=True, eq=False)
class InducedGame:
    """The normal-form game of a finite policy class (module docstring).

    ``schemes[c]`` is policy c; ``strategies[s]`` a tuple of policy indices, one per user
    (personalized) or one (anonymous); ``payoffs[s_1, ..., s_k, i]`` = Π_i.
    """

    regime: str
    policy_class: str
    schemes: np.ndarray
    strategies: tuple[tuple[int, ...], ...]
    payoffs: np.ndarray

    @property
    def n_players(self) -> int:
        return self.payoffs.shape[-1]

    def profile(self, strategy_profile: Sequence[int]) -> Profile:
        """The :class:`Profile` in which provider i plays strategy ``strategy_profile[i]``."""
        pols = [self.strategies[s] for s in strategy_profile]
        if self.regime == "anonymous":
            return Profile("anonymous", self.schemes[[p[0] for p in pols]])
        return Profile("personalized", self.schemes[np.array(pols)])

    def payoff_arrays(self) -> tuple[np.ndarray, ...]:
        """QuantEcon's layout: player i's array with axes (i, i+1, ..., k−1, 0, ..., i−1)."""
        k = self.n_players
        return tuple(np.moveaxis(self.payoffs[..., i], list(range(k)), [(a - i) % k for a in range(k)]) for i in range(k))

    def to_gambit(self, digits: int = 10):
        """A ``pygambit.Game`` with these payoffs (rounded to ``digits`` decimals, passed as exact
        rationals); needs the ``gambit`` extra."""
        from fractions import Fraction

        try:
            import pygambit as gbt
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ImportError("to_gambit needs pygambit: pip install 'pluralign[gambit]'") from exc
        arrays = []
        for i in range(self.n_players):
            arr = np.empty(self.payoffs.shape[:-1], dtype=object)
            for pos, v in np.ndenumerate(self.payoffs[..., i]):
                arr[pos] = Fraction(str(round(float(v), digits)))
            arrays.append(arr)
        return gbt.Game.from_arrays(*arrays)

    def __repr__(self) -> str:
        shape = " x ".join(str(n) for n in self.payoffs.shape[:-1])
        return f"InducedGame({self.regime}, {self.policy_class}: {len(self.strategies)} strategies per provider, {shape} profiles)"


def induced_game(
    market: Market,
    regime: str,
    *,
    policy_class: PolicyClass,
    rule: ResponseRule,
    mode: str,
    max_profiles: int = MAX_PROFILES,
) -> InducedGame:
    """The whole normal-form game of the policy class (personalized: |C|^m strategies per provider)."""
    C = class_schemes(market, policy_class)
    m, k = market.n_users, market.n_providers
    per = 1 if regime == "anonymous" else m
    n_s = C.shape[0] ** per
    if n_s**k > max_profiles:
        raise SizeError(
            f"the induced game has {n_s}^{k} = {n_s**k} profiles (limit {max_profiles}); "
            "use fewer observations, users or providers, or raise max_profiles"
        )
    strategies = tuple(itertools.product(range(C.shape[0]), repeat=per))
    V, W = policy_tables(market, C, rule)
    idx = np.indices((n_s,) * k).reshape(k, -1)  # [k, N]
    strat = np.array(strategies, dtype=int)  # [n_s, per]
    pols = strat[idx]  # [k, N, per]
    if per == 1:
        pols = np.broadcast_to(pols, idx.shape + (m,))
    table = payoff_table(market, V, W, np.ascontiguousarray(pols), rule, mode)
    return InducedGame(regime, policy_class, C, strategies, table.reshape((n_s,) * k + (k,)))

