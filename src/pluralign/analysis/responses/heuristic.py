"""A labelled heuristic beyond the exact methods' reach (docs/model.md §8). It certifies nothing.

It searches a restricted class — every partition of X (or a seeded sample of
``max_partitions``) used for every item, the current policy, no information, full
revelation, the other providers' policies, and attracted sets T grown greedily one kind
at a time per group (strict LPs of :func:`pluralign.analysis.responses.attracted_sets.solve_set`
within the signal limit) — scoring each under the users' rule. Its ``bound`` is the
**personalized relaxation** Σ_k p_k max(A[k], L[k]) (whatever the provider does, each kind
gives it at most what it could get from her alone, so the bound is valid but possibly loose);
the result is labelled ``exact=False``.
"""

from __future__ import annotations

import time

import numpy as np

from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.policies import bell, partition_schemes, random_partitions
from pluralign.analysis.responses.attracted_sets import (
    CandidatePool,
    groups_of,
    relaxed_persuasion,
    solve_set,
    uses_menus,
)
from pluralign.analysis.responses.per_user import PersuasionModels
from pluralign.analysis.responses.result import BestResponse, finish

__all__ = ["heuristic_response"]


def heuristic_response(
    problem: DeviationProblem,
    *,
    models: PersuasionModels | None = None,
    max_partitions: int = 2000,
    max_signals: int = 8192,
    seed: int = 0,
    note: str = "",
) -> BestResponse:
    """The heuristic best response (module docstring); ``seed`` draws the partition sample."""
    started = time.perf_counter()
    m = problem.market
    if models is None and problem.kinds.trivial:
        models = PersuasionModels(m)
    th, out = problem.thresholds, problem.outside
    A = relaxed_persuasion(problem, models)
    leave_b = np.where(th.can_leave, out.payoff_bound, -np.inf)
    groups = groups_of(problem)
    pool = CandidatePool(problem, groups)
    n_x, Q = m.n_observations, problem.layout.n_items
    parts = partition_schemes(n_x) if bell(n_x) <= max_partitions else random_partitions(n_x, max_partitions, seed)
    pool.add([np.broadcast_to(p, (Q,) + p.shape) for p in parts])
    lps = problem.kinds.n_kinds
    for g, (items, members) in enumerate(groups):
        lps += _greedy_sets(problem, pool, g, items, members, max_signals)
    policy, kind_value, kind_share = pool.assemble()
    relaxation = np.maximum(A, leave_b)
    return finish(
        problem,
        method="heuristic: partitions of X + greedy attracted sets (not certified)",
        exact=False,
        policy=policy,
        kind_value=kind_value,
        kind_share=kind_share,
        bound=float(problem.kinds.mass @ relaxation),
        kind_bound=relaxation,
        lp_solves=lps,
        started=started,
        note=note,
    )


def _greedy_sets(problem: DeviationProblem, pool: CandidatePool, g: int, items, members, max_signals: int) -> int:
    """Grow group g's attracted set T one kind at a time (strict LPs), keeping the best policy."""
    m = problem.market
    menus = uses_menus(problem)

    def small(size: int) -> bool:
        return menus or m.n_actions**size <= max_signals

    T = [int(k) for k in members if not problem.thresholds.can_leave[k]]
    lps = 0
    if T and small(len(T)):
        _, group_items, _, _ = solve_set(problem, tuple(T), members, items, relaxed=False)
        lps += 1
        if group_items is not None:
            pool.add_group(g, group_items)
    while len(T) < members.size and small(len(T) + 1):
        trials = []
        for k in members:
            if int(k) in T:
                continue
            _, group_items, _, _ = solve_set(problem, tuple(sorted(T + [int(k)])), members, items, relaxed=False)
            lps += 1
            if group_items is not None:
                trials.append((int(k), group_items))
        if not trials:
            break
        mass = problem.kinds.mass
        scored = []
        for k, group_items in trials:
            pay, _ = problem.evaluate(pool._with(g, group_items)[None])
            scored.append((float(pay[0, members] @ mass[members]), k, group_items))
        _, k, group_items = max(scored, key=lambda t: t[0])
        pool.add_group(g, group_items)
        T.append(k)
    return lps
