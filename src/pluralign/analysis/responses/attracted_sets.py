"""Exact best responses by enumerating the attracted set (docs/model.md §8, §14).

Fix the others' policies. A provider's items fall into *groups* — the items of one user
type (personalized) or all items (anonymous) — and a group is seen only by its *members*,
the user kinds whose items they are (:mod:`pluralign.model.kinds`). The provider's payoff
is a sum over groups, so each group is solved on its own. Any deviation attracts some set
T of a group's members; for each T one LP:

* **one scheme for the group** (no menus): signals are *recommendation profiles* s ∈ A^T
  (one action per attracted kind — enough by the revelation principle for a signal every
  member sees: merging signals with the same T-actions keeps each attracted kind's obedience
  and only lowers the others' values), :func:`pluralign.analysis.persuasion.build_attracted_set_lp`:

      max   Σ_{k∈T} p_k Σ_{x,s} σ(x,s) Σ_y P_k(x,y) U_i(k, s_k, y)  +  Σ_{k∉T} p_k L[k]
      s.t.  Σ_s σ(x,s) = 1;  obedience of every k ∈ T signal by signal;
            participation V_k ≥ attract_k (k ∈ T);  "does not prefer" V_k ≤ leave_k (k ∉ T, epigraph rows)

* **menus** (one item per report): by the revelation principle each attracted kind uses
  its own item, a recommendation scheme obedient for it, with incentive compatibility
  against every other attracted kind's item and "does not prefer any item" for the others
  (epigraph rows; :func:`pluralign.analysis.persuasion.build_menu_lp`); the items of reports
  nobody attracted uses copy an attracted one (no information when T is empty).

The best response is the best T per group: 2^|G| LPs (with |A|^|T| signals without menus).
Sets are visited in decreasing order of the *personalized relaxation* Σ_{k∈T} p_k A[k] +
Σ_{k∉T} p_k L[k] (A[k] = the persuasion LP for kind k alone, a valid upper bound) and the
search stops once no remaining T can beat the best found. For the **bound** the thresholds
are the relaxed ones of :mod:`pluralign.analysis.deviations` (action ties for the deviator,
incentive constraints relaxed by the item tie window); the **attained** deviation re-solves
the best sets with strict thresholds and margins and is scored under the users' rule, next
to the current policy, no information, full revelation and the other providers' policies.
Users' rows are stated in units of their utility range (:func:`~pluralign.model.users.unit_utilities`).

A size guard (:func:`pluralign.analysis.limits.check_size`) bounds the enumeration.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.deviations import deviation_problem
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("match_mismatch")
>>> br = attracted_set_response(deviation_problem(m, Profile.uniform("anonymous", no_information(2), 2, 2), 0))
>>> round(br.bound, 6), round(br.current, 6)     # no anonymous deviation gains (docs/model.md §9 B)
(0.5, 0.5)
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from pluralign.analysis.benchmarks import noinfo_kinds
from pluralign.analysis.deviations import DeviationProblem
from pluralign.analysis.limits import MAX_KINDS, MAX_SIGNALS, SizeError, check_size
from pluralign.analysis.persuasion import build_attracted_set_lp, build_menu_lp, build_persuasion_lp
from pluralign.analysis.responses.per_user import KEEP_TOL, PersuasionModels
from pluralign.analysis.responses.result import BestResponse, BoundLP, finish
from pluralign.lp import LPError, solve_lp, solve_robust
from pluralign.model.schemes import clean_rows, pad_signals
from pluralign.model.users import unit_utilities

__all__ = ["attracted_set_response", "CandidatePool", "solve_set", "relaxed_persuasion", "clean_scheme", "groups_of",
           "uses_menus", "check_group_size", "aggregate_kinds"]


def clean_scheme(x: np.ndarray, n_x: int, n_s: int) -> np.ndarray:
    """The first ``n_x·n_s`` LP variables as a row-stochastic ``sigma[x, s]`` (round-off removed)."""
    return clean_rows(np.asarray(x, dtype=float)[: n_x * n_s].reshape(n_x, n_s))


def groups_of(problem: DeviationProblem) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(items, members)]``: each group's item indices and the kinds who see them."""
    lay = problem.layout
    out = []
    for g in np.unique(lay.group):
        items = np.flatnonzero(lay.group == g)
        members = np.flatnonzero(np.isin(lay.truthful, items))
        out.append((items, members))
    return out


def aggregate_kinds(problem: DeviationProblem, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, list[int]]]:
    """Merge a group's identical kinds: ``(representatives, mass[K], classes)``.

    Kinds with the same prior, utility, providers' utilities and outside options respond
    identically to every deviation, so a deviation attracts all or none of them: one
    representative carries their total mass (``mass[rep]``; 0 for the others) and
    ``classes[rep]`` lists them. Merging is exact and only shrinks the 2^|G| enumeration.
    """
    kinds, out, th = problem.kinds, problem.outside, problem.thresholds
    mass = np.zeros(kinds.n_kinds)
    classes: dict[int, list[int]] = {}
    first: dict[bytes, int] = {}
    for k in members.tolist():
        key = b"|".join(
            np.ascontiguousarray(a).tobytes()
            for a in (kinds.P[k], kinds.u[k], kinds.U[:, k], problem.values[:, k], problem.W[:, k],
                      [out.value[k], out.payoff[k], out.payoff_bound[k], th.attract[k], th.leave[k],
                       th.attract_strict[k], th.leave_strict[k], th.own_weight[k], th.attract_const[k]])
        )
        rep = first.setdefault(key, k)
        classes.setdefault(rep, []).append(k)
        mass[rep] += kinds.mass[k]
    return np.array(sorted(classes), dtype=int), mass, classes


def uses_menus(problem: DeviationProblem) -> bool:
    """Several items a kind can choose between (menus with more than one report)."""
    return problem.layout.menus and not problem.layout.single


def check_group_size(problem: DeviationProblem, max_kinds: int = MAX_KINDS, max_signals: int = MAX_SIGNALS, *,
                     aggregate: bool = True) -> None:
    """The size guard for the largest group, after merging identical kinds when ``aggregate``
    (:func:`pluralign.analysis.limits.check_size`; menus need 2^|G| LPs of polynomial size, so
    only the number of kinds is limited)."""
    sizes = [(aggregate_kinds(problem, members)[0] if aggregate else members).size for _, members in groups_of(problem)]
    largest = max(sizes)
    if uses_menus(problem):
        if largest > max_kinds:
            raise SizeError(
                f"the exact best response with menus enumerates up to 2^{largest} attracted sets of user kinds "
                f"(limit max_kinds={max_kinds}); merge similar user types, raise the limit, or use "
                "method='heuristic' (not certified)"
            )
    else:
        check_size(largest, problem.market.n_actions, max_kinds, max_signals)


def _unit(problem: DeviationProblem):
    u_unit, low, scale = unit_utilities(problem.kinds.u)
    return u_unit, (lambda v: (np.asarray(v, dtype=float) - low) / scale), scale


def relaxed_persuasion(problem: DeviationProblem, models: PersuasionModels | None) -> np.ndarray:
    """``A[k]``: i's best payoff from kind k alone when attracted (the personalized relaxation,
    relaxed thresholds, split payoffs bounded as in :class:`~pluralign.analysis.deviations.Thresholds`),
    −inf where she cannot be attracted."""
    th, kinds = problem.thresholds, problem.kinds
    if kinds.trivial and models is not None:
        obj, _ = models.solve_all(problem.provider, th.attract, -problem.tol, relaxed=True)
    else:
        u_unit, unit, _ = _unit(problem)
        part = unit(th.attract)
        obj = np.full(kinds.n_kinds, np.nan)
        for k in range(kinds.n_kinds):
            if np.isposinf(part[k]):
                continue
            lp = build_persuasion_lp(kinds.P[k], u_unit[k], kinds.U[problem.provider, k],
                                     participation=float(part[k]) if np.isfinite(part[k]) else None,
                                     margin=-problem.rule.tol)
            res = solve_robust(lp)
            if res.optimal:
                obj[k] = res.objective
            elif res.status not in ("infeasible", "infeasible_or_unbounded"):
                raise LPError(f"persuasion LP (kind {kinds.names[k]}): status {res.status!r}")
    return np.where(np.isnan(obj), -np.inf, th.own_weight * obj + th.attract_const)


def solve_set(problem: DeviationProblem, T: tuple, members, items, *, relaxed: bool, backend: str = "highs",
              mass: np.ndarray | None = None, classes: dict[int, list[int]] | None = None):
    """Solve the LP of attracted set ``T`` of a group (``members`` kinds, ``items``).

    ``mass``/``classes``: merged kinds (:func:`aggregate_kinds`) — members are then the
    representatives, with their classes' total masses. Returns ``(objective,
    group_items[len(items), x, s], lp, result)``, or Nones if infeasible.
    """
    m, th, out, kinds = problem.market, problem.thresholds, problem.outside, problem.kinds
    T = tuple(int(k) for k in T)
    N = [int(k) for k in members if k not in T]
    menus = uses_menus(problem)
    if relaxed:
        part, cap, obey = th.attract, th.leave, -problem.tol
        leave = np.where(np.isfinite(out.payoff_bound), out.payoff_bound, 0.0)
        weight, const, ic_slack = th.own_weight, th.attract_const, 2 * problem.rule.tol
    else:
        part, cap, leave = th.attract_strict, th.leave_strict, out.payoff
        recommended = problem.rule.action_tie == "recommended" and (len(T) <= 1 or menus)
        obey = np.zeros(kinds.n_kinds) if recommended else problem.delta
        weight, const, ic_slack = None, None, 0.0
    if any(np.isposinf(part[k]) for k in T) or any(np.isneginf(cap[k]) for k in N):
        return None, None, None, None
    u_unit, unit, scale = _unit(problem)
    P = kinds.P_common if kinds.P_common is not None else kinds.P
    U = kinds.U[problem.provider]
    n_x = m.n_observations
    mass = kinds.mass if mass is None else mass
    if menus and not T:  # nobody attracted: every item says nothing, if that keeps everyone away
        if np.any(noinfo_kinds(m)[N] > cap[N]):
            return None, None, None, None
        obj = float(mass[N] @ leave[N])
        return obj, np.ones((len(items), n_x, 1)), None, None
    if menus:
        lp, layout = build_menu_lp(
            P, u_unit, U, mass, T, members, leave=leave, participation=unit(part), outside_cap=unit(cap),
            obedience_margin=np.asarray(obey) / scale, ic_slack=ic_slack, own_weight=weight, attract_const=const,
        )
    else:
        lp, S = build_attracted_set_lp(
            P, u_unit, U, mass, T, unit(problem.outside.value), leave, participation=unit(part),
            outside_cap=unit(cap), obedience_margin=np.asarray(obey) / scale, own_weight=weight, attract_const=const,
            members=members,
        )
    res = solve_robust(lp) if backend != "scipy" else solve_lp(lp, backend="scipy")
    if res.status in ("infeasible", "infeasible_or_unbounded"):
        return None, None, None, None
    if not res.optimal:
        raise LPError(f"attracted-set LP {list(T)}: status {res.status!r} after a retry with scipy")
    if not menus:
        scheme = clean_scheme(res.x, n_x, S.shape[0])
        return res.objective, np.broadcast_to(scheme, (len(items),) + scheme.shape), lp, res
    schemes = layout.schemes(res.x)  # [t, x, a]
    group = np.repeat(schemes[:1], len(items), axis=0)  # reports nobody attracted copy the first item
    position = {int(q): n for n, q in enumerate(items)}
    for t, k in enumerate(T):
        for member in (classes or {}).get(k, [k]):  # merged kinds share their representative's item
            group[position[int(problem.layout.truthful[member])]] = schemes[t]
    return res.objective, group, lp, res


def _stack(policies: list[np.ndarray]) -> np.ndarray:
    width = max(s.shape[-1] for s in policies)
    return np.stack([pad_signals(s, width) for s in policies])


class CandidatePool:
    """Candidate policies (all of provider i's items) scored under the users' rule; keeps, per
    group, the best (the current policy first on ties). Starts with the current policy, no
    information, full revelation and every other provider's policy."""

    def __init__(self, problem: DeviationProblem, groups: list[tuple[np.ndarray, np.ndarray]]):
        self.problem = problem
        self.groups = groups
        self.best: list[tuple | None] = [None] * len(groups)
        self.best_value = [-np.inf] * len(groups)
        m = problem.market
        Q, n_x = problem.layout.n_items, m.n_observations
        own = problem.policy()
        items = problem.profile.items()
        others = [items[o] for o in range(m.n_providers) if o != problem.provider]
        self.add([own, np.ones((Q, n_x, 1)), np.broadcast_to(np.eye(n_x), (Q, n_x, n_x))] + others)

    def add(self, policies: list[np.ndarray], chunk: int = 256) -> None:
        mass = self.problem.kinds.mass
        for start in range(0, len(policies), chunk):
            part = policies[start : start + chunk]
            if not part:
                continue
            pay, share = self.problem.evaluate(_stack(part))
            for g, (items, members) in enumerate(self.groups):
                totals = pay[:, members] @ mass[members]
                c = int(np.argmax(totals))
                if self.best[g] is None or totals[c] > self.best_value[g] + KEEP_TOL:
                    self.best_value[g] = float(totals[c])
                    self.best[g] = (part[c][items], pay[c, members].copy(), share[c, members].copy())

    def add_group(self, g: int, group_items: np.ndarray) -> None:
        """A candidate that changes only group g's items (the others stay as in the best so far)."""
        self.add([self._with(g, group_items)])

    def _with(self, g: int, group_items: np.ndarray) -> np.ndarray:
        policy, _, _ = self.assemble()
        width = max(policy.shape[-1], group_items.shape[-1])
        policy = pad_signals(policy, width).copy()
        policy[self.groups[g][0]] = pad_signals(group_items, width)
        return policy

    def assemble(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(policy[Q, x, s], kind_value[K], kind_share[K])`` from every group's best."""
        K = self.problem.kinds.n_kinds
        width = max(b[0].shape[-1] for b in self.best)
        policy = np.zeros((self.problem.layout.n_items, self.problem.market.n_observations, width))
        value, share = np.zeros(K), np.zeros(K)
        for (items, members), (group_items, pay, sh) in zip(self.groups, self.best):
            policy[items] = pad_signals(group_items, width)
            value[members], share[members] = pay, sh
        return policy, value, share


def attracted_set_response(
    problem: DeviationProblem,
    *,
    models: PersuasionModels | None = None,
    bound: bool = True,
    max_kinds: int = MAX_KINDS,
    max_signals: int = MAX_SIGNALS,
    max_attempts: int = 8,
    backend: str = "highs",
    keep_evidence: bool = False,
    aggregate: bool = True,
) -> BestResponse:
    """The exact best response by attracted sets (module docstring).

    Raises :class:`~pluralign.analysis.limits.SizeError` beyond the size guard.
    ``max_attempts`` bounds the strict LPs tried per group for the attained policy.
    ``bound=False`` still enumerates (the attained value needs the relaxed values to order the
    sets) but reports ``bound = nan``. ``keep_evidence`` keeps every bound LP and its solution.
    """
    started = time.perf_counter()
    m = problem.market
    check_group_size(problem, max_kinds, max_signals)
    if models is None and problem.kinds.trivial:
        models = PersuasionModels(m, backend if backend in ("highs", "scipy") else "highs")
    th, out = problem.thresholds, problem.outside
    A = relaxed_persuasion(problem, models)
    lps = problem.kinds.n_kinds
    leave_b = np.where(th.can_leave, out.payoff_bound, -np.inf)
    groups = groups_of(problem)
    pool = CandidatePool(problem, groups)
    total_bound, evidence = 0.0, []
    for g, (items, group) in enumerate(groups):
        if aggregate:
            members, mass, classes = aggregate_kinds(problem, group)
        else:
            members, mass, classes = group, problem.kinds.mass, None
        ub = []
        for r in range(members.size + 1):
            for T in itertools.combinations(members.tolist(), r):
                inside = np.isin(members, T)
                if np.any(~np.isfinite(A[members[inside]])) or np.any(~np.isfinite(leave_b[members[~inside]])):
                    continue
                ub.append((float(mass[members[inside]] @ A[members[inside]] + mass[members[~inside]] @ leave_b[members[~inside]]), T))
        ub.sort(key=lambda t: -t[0])
        best_bound, solved = -np.inf, {}
        for upper, T in ub:
            if upper <= best_bound + 1e-12:
                break
            obj, group_items, lp, res = solve_set(problem, T, members, items, relaxed=True, backend=backend,
                                                  mass=mass, classes=classes)
            lps += 1
            if keep_evidence and lp is not None:
                evidence.append(BoundLP(f"group {g}, attracted kinds {list(T)}", lp, res))
            if obj is not None:
                solved[T] = obj
                best_bound = max(best_bound, obj)
                pool.add_group(g, group_items)
        # Attain: re-solve, with strict thresholds and margins, the sets that could still beat the
        # best explicit deviation, best relaxed value first (unsolved sets by their upper bound).
        order = sorted(((solved.get(T, upper), T) for upper, T in ub), key=lambda t: -t[0])
        for attempt, (obj, T) in enumerate(order):
            if obj <= pool.best_value[g] + KEEP_TOL or attempt >= max_attempts:
                break
            _, group_items, _, _ = solve_set(problem, T, members, items, relaxed=False, backend=backend,
                                             mass=mass, classes=classes)
            lps += 1
            if group_items is not None:
                pool.add_group(g, group_items)
        total_bound += max(best_bound, pool.best_value[g])
    policy, kind_value, kind_share = pool.assemble()
    label = "exact: attracted sets x " + ("menus with incentive constraints" if uses_menus(problem) else "recommendation profiles")
    return finish(
        problem,
        method=label,
        exact=bool(bound),
        policy=policy,
        kind_value=kind_value,
        kind_share=kind_share,
        bound=float(total_bound) if bound else float("nan"),
        kind_bound=None,
        lp_solves=lps,
        started=started,
        evidence=tuple(evidence),
    )
