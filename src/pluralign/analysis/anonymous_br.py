"""Anonymous best responses: one scheme for every user (MODEL.md §8).

Fix the others' schemes; V_out[j] is user j's best value elsewhere and L[j] what provider
i gets from her there. Any deviation attracts some set T of users. For each T the
**exact** method solves one LP whose signals are *recommendation profiles*
s ∈ A^T (one action per attracted user, enough by the revelation principle for a
public signal: every user sees the whole signal, and merging signals with the same
T-actions keeps each attracted user's obedience and only lowers the others' values):

    max   Σ_{j∈T} p_j Σ_{x,s} σ(x,s) Σ_y P(x,y) U_i(j, s_j, y)  +  Σ_{j∉T} p_j L[j]
    s.t.  Σ_s σ(x,s) = 1                                                    (each x)
          Σ_x σ(x,s) Σ_y P(x,y)[u_j(s_j,y) − u_j(a',y)] ≥ δ_a Σ_x σ(x,s) P(x)  (j∈T, each s, a'≠s_j)
          Σ_{x,s} σ(x,s) Σ_y P(x,y) u_j(s_j,y) ≥ V_out[j] + δ_p                  (j∈T)
          t_{j,s} ≥ Σ_{x,y} P(x,y) σ(x,s) u_j(a,y)  ∀a,   Σ_s t_{j,s} ≤ V_out[j] − δ_n   (j∉T)

The last line is "j does not prefer i": her value V_j(σ) = Σ_s max_a(...) is convex,
so V_j(σ) ≤ const is the epigraph system. The best response is the best T; that is
2^m LPs with up to |A|^m signals (optimal public persuasion is NP-hard in general).
Subsets are visited in decreasing order of the *personalized relaxation*
Σ_{j∈T} p_j A[j] + Σ_{j∉T} p_j L[j] (A[j] = the persuasion LP for j alone, a valid
upper bound) and the search stops once no remaining T can beat the best found.

Ties follow :mod:`pluralign.analysis.best_response`: for the ``bound``, provider ties
follow the users' rule (``ties="rule"``: participation and "stays away" thresholds of
:func:`~pluralign.analysis.deviations.thresholds`) or all go to the deviator
(``ties="deviator"``), and action ties go to the deviator (δ_a = −tol); the ``value`` is
attained under the users' rule by an explicit scheme built with margins
δ = max(margin, 10·tol) and evaluated by the users' response functions.

**Size guard.** The exact method refuses markets with more than ``max_users`` user
types or |A|^m > ``max_signals`` and says what to change. ``method="heuristic"`` (the
default beyond the guard with ``method="auto"``) searches a restricted class — every
partition of X (or a seeded sample), the candidates above, and greedily grown attracted
sets T within the signal limit — and reports the personalized relaxation as its bound:
its result is labelled ``exact=False`` (not certified as a best response), although
``bound`` remains a valid upper bound on every deviation.

>>> from pluralign.catalog import load
>>> from pluralign.model.schemes import Profile, no_information
>>> m = load("match_mismatch")
>>> br = anonymous_best_response(m, Profile.uniform("anonymous", no_information(2), 2, 2), 0)
>>> round(br.bound, 6), round(br.current, 6)     # no anonymous deviation gains (MODEL.md §9 B)
(0.5, 0.5)
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.best_response import (
    DEFAULT_MARGIN,
    Backend,
    BestResponse,
    KEEP_TOL,
    PersuasionModels,
    _pad_to,
    _trim,
    clean_scheme,
)
from pluralign.analysis.deviations import (
    Mode,
    Outside,
    Thresholds,
    Ties,
    check_mode,
    check_rule,
    check_ties,
    deviation_payoffs,
    outside_options,
    thresholds,
)
from pluralign.analysis.policies import bell, partition_schemes, random_partitions
from pluralign.lp import INF, LinearProgram, solve_lp
from pluralign.model.market import Market
from pluralign.model.schemes import Profile
from pluralign.model.users import DEFAULT_RULE, ResponseRule

__all__ = [
    "SizeError",
    "MAX_USERS",
    "MAX_SIGNALS",
    "joint_actions",
    "joint_objective",
    "joint_obedience_rows",
    "joint_value_rows",
    "epigraph_rows",
    "budget_rows",
    "build_anonymous_lp",
    "exact_size",
    "check_size",
    "anonymous_best_response",
]

MAX_USERS = 10
MAX_SIGNALS = 8192


class SizeError(ValueError):
    """The exact anonymous best response would be too large; the message says what to change."""


# --------------------------------------------------------------------------- builders


def joint_actions(n_a: int, t: int) -> np.ndarray:
    """``S[s, k]``: the action joint signal s recommends to the k-th attracted user.

    Signals are enumerated in :func:`itertools.product` order; ``t = 0`` gives one signal.
    """
    return np.array(list(itertools.product(range(n_a), repeat=t)), dtype=int).reshape(n_a**t, t)


def joint_objective(P: np.ndarray, U: np.ndarray, p: np.ndarray, T, S: np.ndarray) -> np.ndarray:
    """``c[x·n_s + s] = Σ_{k} p_{T_k} Σ_y P[x, y] U[T_k, S[s, k], y]`` for provider utility ``U[j, a, y]``."""
    EU = np.einsum("xy,jay->jxa", P, U)
    c = np.zeros((P.shape[0], S.shape[0]))
    for k, j in enumerate(T):
        c += p[j] * EU[j][:, S[:, k]]
    return c.ravel()


def joint_obedience_rows(P: np.ndarray, u: np.ndarray, T, S: np.ndarray, margin: float = 0.0) -> sp.csr_matrix:
    """Obedience for a public signal: rows (k, s, b) for each attracted user T_k, each joint
    signal s and each action b ≠ S[s, k], over ``sigma[x, s]``; each must be ≥ 0.

    Row (k, s, b) has coefficient ``Σ_y P[x,y](u[T_k, S[s,k], y] − u[T_k, b, y]) − margin·P(x)``
    on ``sigma[x, s]`` (every user sees the whole signal, so obedience holds signal by signal).
    """
    n_x, n_s = P.shape[0], S.shape[0]
    n_a = u.shape[1]
    Px = P.sum(axis=1)
    rows, cols, vals = [], [], []
    r = 0
    xs = np.arange(n_x)
    for k, j in enumerate(T):
        Eu = P @ u[j].T  # [x, a]
        rec = S[:, k]
        for b in range(n_a):
            sig = np.flatnonzero(rec != b)
            coef = Eu[:, rec[sig]] - Eu[:, [b]] - margin * Px[:, None]  # [x, len(sig)]
            rr = r + np.arange(sig.size)
            rows.append(np.broadcast_to(rr[None, :], coef.shape).ravel())
            cols.append((xs[:, None] * n_s + sig[None, :]).ravel())
            vals.append(coef.ravel())
            r += sig.size
    if not rows:
        return sp.csr_matrix((0, n_x * n_s))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_x * n_s))


def joint_value_rows(P: np.ndarray, u: np.ndarray, T, S: np.ndarray) -> sp.csr_matrix:
    """Row k: attracted user T_k's utility when she follows: ``Σ_y P[x,y] u[T_k, S[s,k], y]`` on ``sigma[x, s]``."""
    rows = [(P @ u[j].T)[:, S[:, k]].ravel() for k, j in enumerate(T)]
    if not rows:
        return sp.csr_matrix((0, P.shape[0] * S.shape[0]))
    return sp.csr_matrix(np.vstack(rows))


def epigraph_rows(P: np.ndarray, u: np.ndarray, N, n_s: int) -> sp.csr_matrix:
    """Rows (q, s, a) over ``[sigma[x, s], t[q, s]]``: ``t[q, s] − Σ_x sigma[x, s] Σ_y P[x,y] u[N_q, a, y] ≥ 0``."""
    n_x = P.shape[0]
    n_a = u.shape[1]
    n_sig = n_x * n_s
    blocks = []
    for q, j in enumerate(N):
        Eu = P @ u[j].T  # [x, a]
        # row index (s, a) -> s * n_a + a
        r_sig = np.repeat(np.arange(n_s * n_a), n_x)
        s_of = np.repeat(np.arange(n_s), n_a)
        a_of = np.tile(np.arange(n_a), n_s)
        c_sig = (np.arange(n_x)[None, :] * n_s + s_of[:, None]).ravel()
        v_sig = -Eu[:, a_of].T.ravel()
        r_t = np.arange(n_s * n_a)
        c_t = n_sig + q * n_s + s_of
        blocks.append(
            sp.csr_matrix(
                (np.concatenate([v_sig, np.ones(n_s * n_a)]), (np.concatenate([r_sig, r_t]), np.concatenate([c_sig, c_t]))),
                shape=(n_s * n_a, n_sig + len(N) * n_s),
            )
        )
    if not blocks:
        return sp.csr_matrix((0, n_sig + len(N) * n_s))
    return sp.vstack(blocks).tocsr()


def budget_rows(n_x: int, n_s: int, n_out: int) -> sp.csr_matrix:
    """Row q: ``Σ_s t[q, s]`` (to be ≤ V_out of the q-th non-attracted user)."""
    n_sig = n_x * n_s
    rows = np.repeat(np.arange(n_out), n_s)
    cols = n_sig + np.arange(n_out * n_s)
    return sp.csr_matrix((np.ones(n_out * n_s), (rows, cols)), shape=(n_out, n_sig + n_out * n_s))


def build_anonymous_lp(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    p: np.ndarray,
    T,
    v_out: np.ndarray,
    leave: np.ndarray,
    *,
    participation: np.ndarray | None = None,
    outside_cap: np.ndarray | None = None,
    obedience_margin: float = 0.0,
) -> tuple[LinearProgram, np.ndarray]:
    """The LP for attracted set ``T`` (module docstring); returns it and ``S``.

    ``participation[j]`` (default ``v_out``) is the lower bound on an attracted user's
    value; ``outside_cap[j]`` (default ``v_out``) the upper bound on the others'.
    ``leave[j]`` is i's payoff from a user it does not attract. Users with
    ``v_out = −inf`` (no other provider) must be in T. Columns: ``sigma[x, s]`` then ``t[q, s]``.
    """
    m = u.shape[0]
    n_x, n_a = P.shape[0], u.shape[1]
    T = list(T)
    N = [j for j in range(m) if j not in T]
    S = joint_actions(n_a, len(T))
    n_s = S.shape[0]
    n_sig = n_x * n_s
    n_col = n_sig + len(N) * n_s
    part = v_out if participation is None else participation
    cap = v_out if outside_cap is None else outside_cap

    def widen(A: sp.spmatrix) -> sp.csr_matrix:
        return sp.hstack([A, sp.csr_matrix((A.shape[0], n_col - A.shape[1]))]).tocsr()

    simplex = widen(sp.kron(sp.eye(n_x), np.ones((1, n_s)), format="csr"))
    obey = widen(joint_obedience_rows(P, u, T, S, obedience_margin))
    attract = [k for k, j in enumerate(T) if np.isfinite(part[j])]
    value = widen(joint_value_rows(P, u, T, S))[attract]
    epi = epigraph_rows(P, u, N, n_s)
    budget = budget_rows(n_x, n_s, len(N))
    A = sp.vstack([simplex, obey, value, epi, budget]).tocsr()
    lo = np.concatenate(
        [np.ones(n_x), np.zeros(obey.shape[0]), np.array([part[T[k]] for k in attract]), np.zeros(epi.shape[0]), np.full(len(N), -INF)]
    )
    hi = np.concatenate(
        [np.ones(n_x), np.full(obey.shape[0], INF), np.full(len(attract), INF), np.full(epi.shape[0], INF), np.array([cap[j] for j in N])]
    )
    c = np.concatenate([joint_objective(P, U, p, T, S), np.zeros(len(N) * n_s)])
    col_hi = np.concatenate([np.ones(n_sig), np.full(len(N) * n_s, INF)])
    offset = float(sum(p[j] * leave[j] for j in N))
    lp = LinearProgram.build(c=c, A=A, row_lower=lo, row_upper=hi, col_lower=0.0, col_upper=col_hi, sense="max", offset=offset)
    return lp, S


# --------------------------------------------------------------------------- guard


def exact_size(n_users: int, n_actions: int) -> tuple[int, int]:
    """``(number of LPs, signals of the largest LP)`` = ``(2^m, |A|^m)`` in the worst case."""
    return 2**n_users, n_actions**n_users


def check_size(n_users: int, n_actions: int, max_users: int = MAX_USERS, max_signals: int = MAX_SIGNALS) -> None:
    """Raise :class:`SizeError`, saying what to change, when the exact method is out of reach."""
    n_lps, n_sig = exact_size(n_users, n_actions)
    if n_users > max_users or n_sig > max_signals:
        raise SizeError(
            f"the exact anonymous best response for {n_users} user types x {n_actions} actions needs up to "
            f"{n_lps} LPs with up to {n_sig} joint signals each (limits: max_users={max_users}, "
            f"max_signals={max_signals}); merge similar user types, drop actions no user ever takes, "
            "raise the limits, or use method='heuristic' (not certified)"
        )


# --------------------------------------------------------------------------- solver


def _relaxed_persuasion(market: Market, provider: int, th: Thresholds, rule: ResponseRule, backend: Backend) -> np.ndarray:
    """A[j]: i's best payoff from j alone (personalized relaxation), −inf where she cannot be attracted."""
    models = PersuasionModels(market, backend)
    costs = np.einsum("xy,jay->jxa", market.P, market.U[provider]).reshape(market.n_users, -1)
    A = np.full(market.n_users, -np.inf)
    for j in range(market.n_users):
        if np.isposinf(th.attract[j]):
            continue
        obj, _ = models.solve(j, costs[j], market.U[provider, j], th.attract[j], -rule.tol)
        if obj is not None:
            A[j] = obj
    return A


def _solve_T(market, provider, T, out: Outside, th: Thresholds, rule, *, relaxed: bool, delta: float, backend: Backend):
    """Solve the LP for attracted set T; returns (objective, scheme[x, s]) or (None, None)."""
    m = market
    if relaxed:
        part, cap, obey, leave = th.attract, th.leave, -rule.tol, out.payoff_bound
    else:
        part, cap, leave = th.attract_strict, th.leave_strict, out.payoff
        obey = 0.0 if (rule.action_tie == "recommended" and len(T) <= 1) else delta
    if any(np.isposinf(part[j]) for j in T):
        return None, None
    lp, S = build_anonymous_lp(
        m.P, m.u, m.U[provider], m.p, T, out.value, leave, participation=part, outside_cap=cap, obedience_margin=obey
    )
    res = solve_lp(lp, backend="scipy" if backend == "scipy" else "highs")
    if res.status in ("infeasible", "infeasible_or_unbounded"):
        return None, None
    res.require_optimal(f"anonymous best-response LP (attracted set {list(T)})")
    return res.objective, clean_scheme(res.x, m.n_observations, S.shape[0])


def _generic_candidates(market: Market, profile: Profile, provider: int) -> list[np.ndarray]:
    n_x = market.n_observations
    cands = [profile.scheme(provider), np.ones((n_x, 1)), np.eye(n_x)]
    cands += [profile.scheme(o) for o in range(market.n_providers) if o != provider]
    return cands


def _stack(schemes: list[np.ndarray]) -> np.ndarray:
    width = max(s.shape[1] for s in schemes)
    return np.stack([_pad_to(s, width) for s in schemes])


class _Pool:
    """Candidate schemes evaluated under the users' rule; keeps the best (current first on ties)."""

    def __init__(self, market, profile, provider, rule, mode):
        self.args = (market, profile, provider)
        self.rule, self.mode = rule, mode
        self.p = market.p
        self.best_value = -np.inf
        self.best = None
        self.current = None

    def add(self, schemes: list[np.ndarray], chunk: int = 256) -> None:
        for start in range(0, len(schemes), chunk):
            self._add(schemes[start : start + chunk])

    def _add(self, schemes: list[np.ndarray]) -> None:
        if not schemes:
            return
        pay, chosen = deviation_payoffs(*self.args, _stack(schemes), self.rule, self.mode)
        totals = pay @ self.p
        if self.current is None:
            self.current = (totals[0], pay[0].copy())
        k = int(np.argmax(totals))
        if self.best is None or totals[k] > self.best_value + KEEP_TOL:
            self.best_value = float(totals[k])
            self.best = (schemes[k], pay[k].copy(), chosen[k] == self.args[2])


def anonymous_best_response(
    market: Market,
    profile: Profile,
    provider: int,
    *,
    rule: ResponseRule = DEFAULT_RULE,
    mode: Mode = "actions",
    margin: float = DEFAULT_MARGIN,
    method: str = "auto",
    backend: Backend = "highs",
    max_users: int = MAX_USERS,
    max_signals: int = MAX_SIGNALS,
    max_attempts: int = 8,
    max_partitions: int = 2000,
    seed: int = 0,
    ties: Ties = "rule",
) -> BestResponse:
    """Best response of ``provider`` in the anonymous regime (module docstring).

    ``method``: ``"exact"`` (raises :class:`SizeError` beyond the guard), ``"heuristic"``,
    or ``"auto"`` (exact within the guard, heuristic beyond, with the guard's message in
    ``note``). ``max_attempts`` bounds the margin LPs tried for the attained scheme;
    ``max_partitions`` and ``seed`` control the heuristic's partition sample.
    """
    started = time.perf_counter()
    check_mode(mode)
    check_rule(rule)
    check_ties(ties)
    if profile.regime != "anonymous":
        raise ValueError("anonymous_best_response needs an anonymous profile")
    if method not in ("auto", "exact", "heuristic"):
        raise ValueError(f"method must be 'auto', 'exact' or 'heuristic', got {method!r}")
    m = market
    note = ""
    if method in ("auto", "exact"):
        try:
            check_size(m.n_users, m.n_actions, max_users, max_signals)
        except SizeError as exc:
            if method == "exact":
                raise
            method, note = "heuristic", str(exc)
        else:
            method = "exact"
    out = outside_options(m, profile, provider, rule, mode)
    delta = max(margin, 10 * rule.tol)
    th = thresholds(m, out, rule, ties, delta)
    A = _relaxed_persuasion(m, provider, th, rule, backend)
    lps = m.n_users
    leave_b = out.payoff_bound if out.exists else np.full(m.n_users, -np.inf)
    pool = _Pool(m, profile, provider, rule, mode)
    pool.add(_generic_candidates(m, profile, provider))

    if method == "exact":
        users = range(m.n_users)
        subsets = [tuple(users)] if not out.exists else [
            T for r in range(m.n_users + 1) for T in itertools.combinations(users, r)
        ]
        ub = []
        for T in subsets:
            inside = np.zeros(m.n_users, dtype=bool)
            inside[list(T)] = True
            if np.any(~np.isfinite(A[inside])) or np.any(~np.isfinite(leave_b[~inside])):
                continue
            ub.append((float(m.p[inside] @ A[inside] + m.p[~inside] @ leave_b[~inside]), T))
        ub.sort(key=lambda t: -t[0])
        bound = -np.inf
        solved: list[tuple[float, tuple]] = []
        relaxed_schemes = []
        for upper, T in ub:
            if upper <= bound + 1e-12:
                break
            obj, scheme = _solve_T(m, provider, T, out, th, rule, relaxed=True, delta=delta, backend=backend)
            lps += 1
            if obj is not None:
                solved.append((obj, T))
                relaxed_schemes.append(scheme)
                bound = max(bound, obj)
        pool.add(relaxed_schemes)
        # Attain: try attracted sets that could still beat the best explicit deviation,
        # best relaxed value first (unsolved sets by their upper bound).
        known = {T: obj for obj, T in solved}
        order = sorted(((known.get(T, upper), T) for upper, T in ub), key=lambda t: -t[0])
        attempts = 0
        for obj, T in order:
            if obj <= pool.best_value + rule.tol or attempts >= max_attempts:
                break
            _, scheme = _solve_T(m, provider, T, out, th, rule, relaxed=False, delta=delta, backend=backend)
            lps += 1
            attempts += 1
            if scheme is not None:
                pool.add([scheme])
        exact = True
        label = "exact: attracted sets x recommendation profiles"
    else:
        n_x = m.n_observations
        parts = (
            partition_schemes(n_x) if bell(n_x) <= max_partitions else random_partitions(n_x, max_partitions, seed)
        )
        pool.add([p for p in parts])
        lps += _greedy_sets(m, provider, out, th, rule, delta, backend, pool, max_signals)
        bound = float(m.p @ np.maximum(A, leave_b))
        exact = False
        label = "heuristic: partitions of X + greedy attracted sets (not certified)"

    scheme, user_value, attracted = pool.best
    value = pool.best_value
    bound = max(bound, value)
    n_u = m.n_users
    return BestResponse(
        provider=provider,
        regime="anonymous",
        mode=mode,
        method=label,
        exact=exact,
        scheme=_trim(scheme),
        value=value,
        bound=float(bound),
        current=float(pool.current[0]),
        user_value=user_value,
        user_bound=np.full(n_u, np.nan),
        user_current=pool.current[1],
        attracted=attracted,
        rule=rule,
        margin=margin,
        ties=ties,
        lp_solves=lps,
        seconds=time.perf_counter() - started,
        note=note,
        info={"personalized_relaxation": float(m.p @ np.maximum(A, leave_b))},
    )


def _greedy_sets(market, provider, out, th, rule, delta, backend, pool: _Pool, max_signals: int) -> int:
    """Grow the attracted set T one user at a time (attained LPs), keeping the best scheme."""
    m = market
    T: list[int] = [] if out.exists else list(range(m.n_users))
    lps = 0
    if not out.exists:
        if m.n_actions ** len(T) <= max_signals:
            _, scheme = _solve_T(m, provider, tuple(T), out, th, rule, relaxed=False, delta=delta, backend=backend)
            lps += 1
            if scheme is not None:
                pool.add([scheme])
        return lps
    while len(T) < m.n_users and m.n_actions ** (len(T) + 1) <= max_signals:
        trials = []
        for j in range(m.n_users):
            if j in T:
                continue
            _, scheme = _solve_T(m, provider, tuple(sorted(T + [j])), out, th, rule, relaxed=False, delta=delta, backend=backend)
            lps += 1
            if scheme is not None:
                trials.append((j, scheme))
        if not trials:
            break
        pay, _ = deviation_payoffs(m, *pool.args[1:], _stack([s for _, s in trials]), rule, pool.mode)
        k = int(np.argmax(pay @ m.p))
        pool.add([trials[k][1]])
        T.append(trials[k][0])
    return lps
