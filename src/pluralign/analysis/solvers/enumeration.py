"""Every pure equilibrium of a finite policy class, verified against all deviations (docs/model.md §5).

Restrict every item of every provider's policy to a class C of schemes (partitions of X,
or deterministic recommendation maps). A provider's payoff is a sum over the groups of
items (one user type's items when personalized, all items when anonymous; several items
per group with menus), and a group's payoff depends only on its own items — so the
restricted game is a product of one game per group, in which a provider's strategy gives
each of the group's items a class policy (|C|^items strategies). Each group's pure
equilibria are found on its payoff table (threshold ``tol / #groups``, so that every
combination is a tol-equilibrium of the restricted game), and combinations are listed in
lexicographic order; each listed profile is verified by ``game.verify`` against every
deviation, inside or outside the class.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> res = enumerate_solve(ProviderGame(load("match_mismatch"), "anonymous"))
>>> len(res.verified), res.in_class_equilibria, res.worst_utility.tolist()
(4, 4, [0.5, 0.5])
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.induced import group_items, payoff_table, policy_tables, pure_equilibria, strategy_tables
from pluralign.analysis.limits import MAX_PROFILES, SizeError
from pluralign.analysis.policies import PolicyClass
from pluralign.analysis.policies import policy_class as class_schemes
from pluralign.analysis.solvers.results import EnumerationResult, Equilibrium

__all__ = ["enumerate_solve", "MAX_LISTED"]

MAX_LISTED = 100_000


def enumerate_solve(
    game: ProviderGame,
    *,
    policy_class: PolicyClass = "partitions",
    max_equilibria: int | None = None,
    max_profiles: int = MAX_PROFILES,
    verify_results: bool = True,
) -> EnumerationResult:
    """Every pure equilibrium of the game restricted to ``policy_class`` (module docstring).

    ``max_equilibria``: verify only the first so many combinations (None: all of them, up to
    :data:`MAX_LISTED`; more is a :class:`~pluralign.analysis.limits.SizeError`).
    ``max_profiles`` bounds each group's table (|C|^k). ``verify_results=False`` lists the
    in-class equilibria without verifying them (no candidates are returned).
    """
    started = time.perf_counter()
    if max_equilibria is not None and not (isinstance(max_equilibria, (int, np.integer)) and max_equilibria >= 0):
        raise ValueError(f"max_equilibria must be a non-negative integer or None, got {max_equilibria!r}")
    m = game.market
    C = class_schemes(m, policy_class)
    layout = game.layout()
    groups = group_items(layout)
    n_c, k = C.shape[0], m.n_providers
    per_game = max(n_c ** items.size for items in groups) ** k
    if per_game > max_profiles:
        raise SizeError(
            f"enumeration over {policy_class} of X needs up to {per_game} profiles per game "
            f"(limit max_profiles={max_profiles}); use fewer observations, providers or reports, "
            "the 'partitions' class, or best-response dynamics"
        )
    V, W = policy_tables(m, C, game.rule)
    per_group, strategies = [], []
    for items in groups:
        strats = np.array(list(itertools.product(range(n_c), repeat=items.size)), dtype=int)
        Vs, Ws, members = strategy_tables(m, layout, V, W, items, strats, game.rule)
        n_s = strats.shape[0]
        idx = np.indices((n_s,) * k).reshape(k, -1)
        table = payoff_table(m, Vs, Ws, members, idx, game.rule, game.mode)
        per_group.append(pure_equilibria(table.reshape((n_s,) * k + (k,)), game.tol / len(groups)))
        strategies.append(strats)
    counts = tuple(len(e) for e in per_group)
    total = int(np.prod(counts, dtype=object))
    limit = total if max_equilibria is None else min(total, int(max_equilibria))
    if limit > MAX_LISTED:
        raise SizeError(
            f"{total} in-class equilibria to list and verify (limit {MAX_LISTED}); pass max_equilibria"
        )
    listed, eqs = [], []
    for n, combo in enumerate(itertools.islice(itertools.product(*per_group), limit)):
        # combo[g][i]: provider i's strategy in group g (class indices of the group's items)
        items_of = np.zeros((k, layout.n_items), dtype=int)
        for g, items in enumerate(groups):
            for i in range(k):
                items_of[i, items] = strategies[g][combo[g][i]]
        listed.append(tuple(tuple(int(c) for c in row) for row in items_of))
        if verify_results:
            profile = game.profile_from_items(C[items_of])
            eqs.append(Equilibrium(profile, game.verify(profile), f"enumeration over {policy_class} of X (#{n})"))
    params = dict(policy_class=policy_class, max_profiles=max_profiles, max_equilibria=max_equilibria,
                  margin=game.margin, ties=game.ties)
    return EnumerationResult(
        game, "enumeration", params, tuple(eqs), time.perf_counter() - started,
        policy_class, n_c, per_game, total, counts, tuple(listed),
    )
