"""Anonymous best responses at scale, over vertex posteriors (docs/model.md §15).

One public scheme for every user kind (the anonymous regime without menus). Writing a
signal's weight over observations ``w_s(x) = σ(x, s) P(x)`` (P(x) the providers' marginal),
kind k's value and the provider's payoff from her are linear in ``w_s`` on each cell of the
arrangement of the kinds' indifference hyperplanes, so an optimal deviation needs only the
arrangement's vertices as posteriors, and the attracted set is a mixed-integer choice with
one binary per kind: :func:`pluralign.analysis.responses.vertex_milp.vertex_deviation`. Here
the deviation problem is put in those terms:

* ``g_user[k, a, x] = Σ_y P_k(x, y) u_k(a, y) / P(x)`` (in units of the kind's utility range)
  and ``g_prov[k, a, x] = own_weight_k Σ_y P_k(x, y) U_i(k, a, y) / P(x) + attract_const_k``;
* the relaxed thresholds of :mod:`pluralign.analysis.deviations` (a kind that cannot be kept
  away must be attracted; one that can never be attracted never is), leave payoffs
  ``payoff_bound`` — so the MILP's optimum is the same supremum the attracted-set
  enumeration computes (action ties for the deviator at the vertices);
* identical kinds merged first (exact).

The **attained** deviation is rebuilt from the solution — one signal per used vertex — and,
with strict thresholds and margins, re-solved as the attracted-set LP restricted to the
recommendation profiles the vertices use; both are scored under the users' rule next to the
current policy, no information, full revelation and the other providers' policies.
"""

from __future__ import annotations

import time

import numpy as np

from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.persuasion import build_attracted_set_lp
from pluralign.analysis.responses.attracted_sets import CandidatePool, aggregate_kinds, clean_scheme, groups_of
from pluralign.analysis.responses.result import BestResponse, finish
from pluralign.analysis.responses.vertex_milp import vertex_deviation
from pluralign.lp import solve_robust
from pluralign.model.users import unit_utilities

__all__ = ["vertex_response", "vertex_inputs"]


def vertex_inputs(problem: DeviationProblem, members: np.ndarray, mass: np.ndarray) -> dict:
    """The arrays of :func:`~pluralign.analysis.responses.vertex_milp.vertex_deviation` for the kinds ``members``."""
    m, kinds, th, out = problem.market, problem.kinds, problem.thresholds, problem.outside
    Px = m.P.sum(axis=1)
    safe = np.where(Px > 0, Px, 1.0)
    u_unit, low, scale = unit_utilities(kinds.u)
    P = kinds.P[members]  # [k, x, y]
    g_user = np.einsum("kxy,kay->kax", P, u_unit[members]) / safe
    g_prov = np.einsum("kxy,kay->kax", P, kinds.U[problem.provider][members]) / safe
    g_prov = th.own_weight[members, None, None] * g_prov + th.attract_const[members, None, None]
    g_user[..., Px <= 0] = 0.0
    g_prov[..., Px <= 0] = 0.0

    def unit(v):
        return (np.asarray(v, dtype=float)[members] - low[members]) / scale[members]

    leave = np.where(th.can_leave[members], unit(th.leave), -np.inf)
    leave_payoff = np.where(np.isfinite(out.payoff_bound[members]), out.payoff_bound[members], 0.0)
    return dict(Px=Px, g_user=g_user, g_prov=g_prov, mass=mass[members], attract=unit(th.attract), leave=leave,
                leave_payoff=leave_payoff)


def vertex_response(
    problem: DeviationProblem, *, bound: bool = True, aggregate: bool = True, tol: float = 1e-9
) -> BestResponse:
    """The best response by vertex posteriors (module docstring). Anonymous regime, no menus."""
    started = time.perf_counter()
    ((items, group),) = groups_of(problem)
    if aggregate:
        members, mass, _ = aggregate_kinds(problem, group)
    else:
        members, mass = group, problem.kinds.mass
    res = vertex_deviation(**vertex_inputs(problem, members, mass), tol=tol)
    pool = CandidatePool(problem, [(items, group)])
    lps = res.lp_solves
    if res.optimal:
        rebuilt = res.scheme()
        pool.add([np.broadcast_to(rebuilt.sigma, (items.size,) + rebuilt.sigma.shape)])
        # The optimal attracted set may hold kinds attracted at no gain (their payoff equals what
        # leaving them earns): the MILP is indifferent, but under the users' rule winning them can
        # cost the strict deviation. Try T, and T with only the kinds that gain or must be won.
        T = np.flatnonzero(res.attracted)
        inputs = vertex_inputs(problem, members, mass)
        needed = T[(res.payoffs[T] > inputs["leave_payoff"][T] + 1e-6) | np.isneginf(inputs["leave"][T])]
        for attracted in [T] + ([needed] if needed.size < T.size else []):
            scheme = _attain(problem, members, mass, attracted, rebuilt.recommendations)
            lps += 1
            if scheme is not None:
                pool.add([np.broadcast_to(scheme, (items.size,) + scheme.shape)])
    policy, kind_value, kind_share = pool.assemble()
    note = f"{res.n_vertices} vertex posteriors, {members.size} distinct kinds of {group.size}"
    return finish(
        problem,
        method="exact: vertex posteriors (MILP over attracted sets)",
        exact=bool(bound),
        policy=policy,
        kind_value=kind_value,
        kind_share=kind_share,
        bound=max(float(res.bound), pool.best_value[0]) if bound else float("nan"),
        kind_bound=None,
        lp_solves=lps,
        started=started,
        note=note,
    )


FULL_PROFILES = 4096  # below this many joint recommendations, the strict LP may use all of them


def _attain(problem: DeviationProblem, members, mass, attracted, recommendations) -> np.ndarray | None:
    """Strict thresholds and margins over an attracted set (positions in ``members``): every
    recommendation profile when there are at most ``FULL_PROFILES``, else those the vertices use."""
    m, kinds, th, out = problem.market, problem.kinds, problem.thresholds, problem.outside
    T = tuple(int(members[t]) for t in attracted)
    if any(np.isposinf(th.attract_strict[k]) for k in T):
        return None
    if not T or m.n_actions ** len(T) <= FULL_PROFILES:
        profiles = None
    else:
        profiles = np.unique(recommendations[:, attracted], axis=0)
    u_unit, low, scale = unit_utilities(kinds.u)

    def unit(v):
        return (np.asarray(v, dtype=float) - low) / scale

    recommended = problem.rule.action_tie == "recommended" and len(T) <= 1
    obey = np.zeros(kinds.n_kinds) if recommended else problem.delta
    P = kinds.P_common if kinds.P_common is not None else kinds.P
    lp, S = build_attracted_set_lp(
        P, u_unit, kinds.U[problem.provider], mass, T, unit(out.value), out.payoff, participation=unit(th.attract_strict),
        outside_cap=unit(th.leave_strict), obedience_margin=obey / scale, members=[int(k) for k in members],
        profiles=profiles,
    )
    sol = solve_robust(lp)
    if not sol.optimal:
        return None
    return clean_scheme(sol.x, m.n_observations, S.shape[0])
