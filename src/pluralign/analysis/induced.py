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
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from pluralign.analysis.limits import MAX_PROFILES, SizeError
from pluralign.analysis.policies import PolicyClass
from pluralign.analysis.policies import policy_class as class_schemes
from pluralign.model.kinds import kinds_of, layout_of
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import ResponseRule, choose_items, outcomes, provider_shares, scheme_values, tolerances

__all__ = ["InducedGame", "induced_game", "policy_tables", "strategy_tables", "payoff_table", "pure_equilibria",
           "group_items"]


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
    """``V[c, k]`` = value of policy c for user kind k; ``W[c, k, i]`` = E[U_i(k)] when kind k follows c."""
    kinds = kinds_of(market)
    K = kinds.n_kinds
    sig = np.broadcast_to(schemes[:, None], (schemes.shape[0], K) + schemes.shape[1:])
    P = kinds.P_common if kinds.P_common is not None else kinds.P
    V = scheme_values(P, kinds.u, sig)
    mu = outcomes(P, kinds.u, sig, rule)
    return V, np.einsum("ckay,ikay->cki", mu, kinds.U)


def strategy_tables(market: Market, layout, V: np.ndarray, W: np.ndarray, items: np.ndarray, strategies: np.ndarray,
                    rule: ResponseRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A group's strategies (class indices for its ``items``, ``strategies[S, len(items)]``):
    ``(Vs[S, k], Ws[S, k, i], members)`` — each member kind's value of her best item (the
    truthful one among the best) and the payoffs there, from :func:`policy_tables`."""
    kinds = kinds_of(market)
    members = np.flatnonzero(np.isin(layout.truthful, items))
    position = np.full(layout.n_items, -1)
    position[items] = np.arange(items.size)
    choices = layout.choices[members]  # [K_g, R], all inside the group
    cls = strategies[:, position[choices]]  # [S, K_g, R]: class policy of each item she can use
    vals = V[cls, members[None, :, None]]  # [S, K_g, R]
    sub = SimpleNamespace(choices=choices, n_choices=layout.n_choices[members], truthful=layout.truthful[members])
    best, item = choose_items(vals, sub, tolerances(kinds.u[members], rule))
    chosen = np.take_along_axis(strategies, position[item], axis=1)  # [S, K_g]: class policy she follows
    return best, W[chosen, members[None, :]], members


def payoff_table(market: Market, Vs, Ws, members, pols: np.ndarray, rule: ResponseRule, mode: str) -> np.ndarray:
    """Payoffs ``[N, k]`` to every provider from the kinds ``members`` in N profiles, provider o
    playing strategy ``pols[o, n]`` (rows of :func:`strategy_tables`), under the users' rule."""
    kinds = kinds_of(market)
    values = Vs[pols]  # [k, N, K_g]
    shares = provider_shares(values, rule, tolerances(kinds.u[members], rule))
    own = Ws[pols]  # [k, N, K_g, k']: E[U_i'] when the kind consults provider o
    if mode == "actions":
        pay = np.einsum("onm,onmi->nmi", shares, own)
    else:
        pay = np.einsum("inm,inmi->nmi", shares, own)
    return np.einsum("nmi,m->ni", pay, kinds.mass[members])


def group_items(layout) -> list[np.ndarray]:
    """The item indices of each group (one user type's items when personalized, all when anonymous)."""
    return [np.flatnonzero(layout.group == g) for g in np.unique(layout.group)]


@dataclass(frozen=True, eq=False)
class InducedGame:
    """The normal-form game of a finite policy class (module docstring).

    ``schemes[c]`` is policy c; ``strategies[s]`` a tuple of policy indices, one per item (one
    per user when personalized, one when anonymous, one per report with menus);
    ``payoffs[s_1, ..., s_k, i]`` = Π_i.
    """

    regime: str
    policy_class: str
    schemes: np.ndarray
    strategies: tuple[tuple[int, ...], ...]
    payoffs: np.ndarray
    menus: bool = False
    item_shape: tuple[int, ...] = ()

    @property
    def n_players(self) -> int:
        return self.payoffs.shape[-1]

    def profile(self, strategy_profile: Sequence[int]) -> Profile:
        """The :class:`Profile` in which provider i plays strategy ``strategy_profile[i]``."""
        pols = np.array([self.strategies[s] for s in strategy_profile])  # [k, items]
        arr = self.schemes[pols]  # [k, items, x, s]
        return Profile(self.regime, arr.reshape((len(pols),) + self.item_shape + arr.shape[-2:]), self.menus)

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
    menus: bool = False,
    policy_class: PolicyClass,
    rule: ResponseRule,
    mode: str,
    max_profiles: int = MAX_PROFILES,
) -> InducedGame:
    """The whole normal-form game of the policy class: a strategy gives every item a class policy
    (|C|^items strategies per provider); payoffs add up over groups of items."""
    C = class_schemes(market, policy_class)
    layout = layout_of(market, regime, menus)
    k, n_c, Q = market.n_providers, C.shape[0], layout.n_items
    n_s = n_c**Q
    if n_s**k > max_profiles:
        raise SizeError(
            f"the induced game has {n_s}^{k} = {n_s**k} profiles (limit {max_profiles}); "
            "use fewer observations, users or providers, or raise max_profiles"
        )
    strategies = np.array(list(itertools.product(range(n_c), repeat=Q)), dtype=int).reshape(n_s, Q)
    V, W = policy_tables(market, C, rule)
    idx = np.indices((n_s,) * k).reshape(k, -1)  # [k, N]
    table = np.zeros((idx.shape[1], k))
    for items in group_items(layout):
        g_strats, g_index = np.unique(strategies[:, items], axis=0, return_inverse=True)
        Vs, Ws, members = strategy_tables(market, layout, V, W, items, g_strats, rule)
        table += payoff_table(market, Vs, Ws, members, g_index.reshape(-1)[idx], rule, mode)
    shape = (regime, bool(menus))
    return InducedGame(regime, policy_class, C, tuple(tuple(int(c) for c in row) for row in strategies),
                       table.reshape((n_s,) * k + (k,)), bool(menus), _item_shape(market, *shape))


def _item_shape(market: Market, regime: str, menus: bool) -> tuple[int, ...]:
    return {
        ("personalized", False): (market.n_users,),
        ("anonymous", False): (),
        ("personalized", True): (market.n_users, market.n_private),
        ("anonymous", True): (market.n_users * market.n_private,),
    }[(regime, menus)]
