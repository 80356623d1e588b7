"""A labelled heuristic for one scheme shared by many users, beyond the exact methods' reach
(docs/model.md §8). It certifies nothing.

It searches a restricted class — every partition of X (or a seeded sample of
``max_partitions``), the current scheme, no information, full revelation, the other
providers' schemes, and attracted sets T grown greedily one user at a time (strict LPs of
:func:`pluralign.analysis.responses.attracted_sets.solve_set` within the signal limit) —
scoring each under the users' rule. Its ``bound`` is the **personalized relaxation**
Σ_j p_j max(A[j], L[j]) (any anonymous scheme is a personalized one, so the bound is valid
but possibly loose); the result is labelled ``exact=False``.
"""

from __future__ import annotations

import time

import numpy as np

from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.policies import bell, partition_schemes, random_partitions
from pluralign.analysis.responses.attracted_sets import CandidatePool, relaxed_persuasion, solve_set
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
    models = PersuasionModels(m) if models is None else models
    th, out = problem.thresholds, problem.outside
    A = relaxed_persuasion(problem, models)
    leave_b = np.where(th.can_leave, out.payoff_bound, -np.inf)
    pool = CandidatePool(problem)
    n_x = m.n_observations
    parts = partition_schemes(n_x) if bell(n_x) <= max_partitions else random_partitions(n_x, max_partitions, seed)
    pool.add(list(parts))
    lps = m.n_users + _greedy_sets(problem, pool, max_signals)
    scheme, user_value, share = pool.best
    return finish(
        problem,
        method="heuristic: partitions of X + greedy attracted sets (not certified)",
        exact=False,
        regime="anonymous",
        policy=scheme,
        user_value=user_value,
        share=share,
        bound=float(m.p @ np.maximum(A, leave_b)),
        user_bound=np.maximum(A, leave_b),
        lp_solves=lps,
        started=started,
        note=note,
    )


def _greedy_sets(problem: DeviationProblem, pool: CandidatePool, max_signals: int) -> int:
    """Grow the attracted set T one user at a time (strict LPs), keeping the best scheme."""
    m = problem.market
    must = [j for j in range(m.n_users) if not problem.thresholds.can_leave[j]]
    T: list[int] = list(must)
    lps = 0
    if T and m.n_actions ** len(T) <= max_signals:
        _, scheme, _, _ = solve_set(problem, tuple(T), relaxed=False)
        lps += 1
        if scheme is not None:
            pool.add([scheme])
    while len(T) < m.n_users and m.n_actions ** (len(T) + 1) <= max_signals:
        trials = []
        for j in range(m.n_users):
            if j in T:
                continue
            _, scheme, _, _ = solve_set(problem, tuple(sorted(T + [j])), relaxed=False)
            lps += 1
            if scheme is not None:
                trials.append((j, scheme))
        if not trials:
            break
        best_value, best = -np.inf, None
        for j, scheme in trials:
            pay, _ = problem.evaluate(scheme[None])
            total = float(pay[0] @ m.p)
            if total > best_value:
                best_value, best = total, (j, scheme)
        pool.add([best[1]])
        T.append(best[0])
    return lps
