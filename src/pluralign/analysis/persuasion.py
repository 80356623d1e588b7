"""Bayesian persuasion of one user by one provider, as a linear program (docs/model.md §6, §8).

Variables are a recommendation scheme ``sigma[x, a]`` (flattened ``x * n_a + a``).
For user utility ``u[a, y]`` and provider utility ``U[a, y]``:

    maximize   Σ_{x,a} sigma[x, a] · Σ_y P[x, y] U[a, y]
    s.t.       Σ_a sigma[x, a] = 1                                  (each x)
               Σ_x sigma[x, a] · (D[x, a, a'] − δ · P(x)) ≥ 0       (obedience, a ≠ a')
               Σ_{x,a} sigma[x, a] · Σ_y P[x, y] u[a, y] ≥ V_out     (participation, optional)
               sigma ≥ 0

with ``D[x, a, a'] = Σ_y P[x, y] (u[a, y] − u[a', y])`` and ``δ`` an optional margin on
the posterior advantage of the recommended action (δ > 0 makes obedience strict,
so the optimum survives any action tie rule). Optimal schemes are attained under
the ``"recommended"`` action tie rule (the user follows a recommendation she is
indifferent about).

**One scheme for several users** (the anonymous regime, docs/model.md §8): for the set T
of users a provider attracts, signals are *recommendation profiles* s ∈ A^T (one action
per attracted user; :func:`joint_actions`), obedient user by user and signal by signal
(:func:`joint_obedience_rows`), with participation for users in T
(:func:`joint_value_rows`) and, for users outside T, "does not prefer this scheme": her
value Σ_s max_a (·) is convex in σ, so V ≤ c is the epigraph system
``t[q, s] ≥ Σ_x σ[x, s] Σ_y P[x, y] u[N_q, a, y]`` (all a), ``Σ_s t[q, s] ≤ c``
(:func:`epigraph_rows`, :func:`budget_rows`); :func:`build_attracted_set_lp` assembles them.

Each builder is a small pure function, unit-tested against hand-written matrices.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.lp import INF, LinearProgram, LPError, solve_lp, solve_robust
from pluralign.model.schemes import clean_rows

__all__ = [
    "objective_coefficients",
    "simplex_rows",
    "obedience_rows",
    "user_value_row",
    "build_persuasion_lp",
    "PersuasionResult",
    "solve_persuasion",
    "user_tiebreak_solution",
    "joint_actions",
    "joint_objective",
    "joint_obedience_rows",
    "joint_value_rows",
    "epigraph_rows",
    "budget_rows",
    "build_attracted_set_lp",
    "expected",
    "observation_mass",
    "MenuLayout",
    "build_menu_lp",
]


def objective_coefficients(P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``c[x * n_a + a] = Σ_y P[x, y] V[a, y]``: expected utility ``V`` from recommending a at x."""
    return np.einsum("xy,ay->xa", P, V).ravel()


def simplex_rows(n_x: int, n_a: int) -> sp.csr_matrix:
    """Row x sums ``sigma[x, ·]``; with bounds 1 ≤ · ≤ 1 each row is a distribution."""
    return sp.kron(sp.eye(n_x), np.ones((1, n_a)), format="csr")


def obedience_rows(P: np.ndarray, u: np.ndarray, margin: float = 0.0) -> tuple[sp.csr_matrix, list[tuple[int, int]]]:
    """Obedience rows, one per ordered pair (a, a'), a ≠ a'; each must be ≥ 0.

    Row (a, a') has coefficient ``D[x, a, a'] − margin · P(x)`` on ``sigma[x, a]``.
    Returns the matrix and the list of pairs labelling its rows.
    """
    n_x = P.shape[0]
    n_a = u.shape[0]
    Px = P.sum(axis=1)
    Eu = P @ u.T  # [x, a] = Σ_y P[x,y] u[a,y]
    pairs = [(a, b) for a in range(n_a) for b in range(n_a) if a != b]
    rows, cols, vals = [], [], []
    for r, (a, b) in enumerate(pairs):
        coef = Eu[:, a] - Eu[:, b] - margin * Px
        rows.extend([r] * n_x)
        cols.extend(x * n_a + a for x in range(n_x))
        vals.extend(coef)
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(pairs), n_x * n_a))
    return A, pairs


def user_value_row(P: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``row[x * n_a + a] = Σ_y P[x, y] u[a, y]``: the user's utility when she follows sigma."""
    return objective_coefficients(P, u)


def build_persuasion_lp(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    participation: float | None = None,
    margin: float = 0.0,
) -> LinearProgram:
    """The persuasion LP above; rows are [simplex (n_x), obedience (n_a(n_a−1)), participation (0 or 1)]."""
    n_x, n_a = P.shape[0], u.shape[0]
    simplex = simplex_rows(n_x, n_a)
    obey, _ = obedience_rows(P, u, margin)
    blocks = [simplex, obey]
    lo = [np.ones(n_x), np.zeros(obey.shape[0])]
    hi = [np.ones(n_x), np.full(obey.shape[0], INF)]
    if participation is not None:
        blocks.append(sp.csr_matrix(user_value_row(P, u)[None, :]))
        lo.append(np.array([participation]))
        hi.append(np.array([INF]))
    return LinearProgram.build(
        c=objective_coefficients(P, U),
        A=sp.vstack(blocks),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_lower=0.0,
        col_upper=1.0,
        sense="max",
    )


@dataclass(frozen=True, eq=False)
class PersuasionResult:
    """Optimal persuasion of one user: the scheme ``sigma[x, a]`` and both parties' utilities."""

    feasible: bool
    scheme: np.ndarray | None
    provider_utility: float
    user_utility: float
    margin: float
    participation: float | None
    user_tiebreak: str | None


def user_tiebreak_solution(lp: LinearProgram, optimum: float, user_row: np.ndarray, *, tol: float = 0.0,
                           sense: Literal["max", "min"] = "max", backend: str = "highs") -> np.ndarray:
    """Second stage of a provider's LP (maximized, optimum ``optimum`` including its offset): among
    the solutions keeping ``c·x + offset ≥ optimum − tol``, one that maximizes (or minimizes) the
    user's value ``user_row·x``."""
    second = LinearProgram.build(
        c=user_row,
        A=sp.vstack([lp.A, sp.csr_matrix(lp.c[None, :])]),
        row_lower=np.append(lp.row_lower, optimum - lp.offset - tol),
        row_upper=np.append(lp.row_upper, INF),
        col_lower=lp.col_lower,
        col_upper=lp.col_upper,
        sense=sense,
    )
    res = solve_lp(second, backend=backend)
    if not res.optimal:  # pragma: no cover - the first-stage optimum is feasible here
        raise LPError(f"tie-break LP for the user's value: solver status {res.status!r}")
    return res.x


def solve_persuasion(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    *,
    participation: float | None = None,
    margin: float = 0.0,
    user_tiebreak: Literal["best", "worst"] | None = "best",
    tol: float = 0.0,
    backend: str = "highs",
) -> PersuasionResult:
    """Solve the persuasion LP; among provider-optimal schemes take the user's ``best`` (default) or ``worst``.

    The second stage keeps the provider's value at least its optimum minus ``tol``.

    Returns ``feasible=False`` when the participation constraint cannot be met.
    """
    if user_tiebreak not in ("best", "worst", None):
        raise ValueError(f"user_tiebreak must be 'best', 'worst' or None, got {user_tiebreak!r}")
    lp = build_persuasion_lp(P, u, U, participation, margin)
    res = solve_robust(lp) if backend == "highs" else solve_lp(lp, backend=backend)
    if res.status == "infeasible":
        return PersuasionResult(False, None, float("nan"), float("nan"), margin, participation, user_tiebreak)
    res.require_optimal("persuasion LP")
    x = res.x
    user_row = user_value_row(P, u)
    if user_tiebreak is not None:
        x = user_tiebreak_solution(lp, res.objective, user_row, tol=tol, sense="max" if user_tiebreak == "best" else "min",
                                   backend=backend)
    n_x, n_a = P.shape[0], u.shape[0]
    scheme = clean_rows(x.reshape(n_x, n_a))
    provider_value = float(lp.c @ scheme.ravel())
    user_value = float(user_row @ scheme.ravel())
    return PersuasionResult(True, scheme, provider_value, user_value, margin, participation, user_tiebreak)


# --------------------------------------------------------------------------- one scheme, several users


def expected(P: np.ndarray, V: np.ndarray, j: int) -> np.ndarray:
    """``E[x, a] = Σ_y P_j[x, y] V[j, a, y]``: ``P`` is one prior ``[x, y]`` or one per kind ``[k, x, y]``."""
    return (P[j] if P.ndim == 3 else P) @ V[j].T


def observation_mass(P: np.ndarray, j: int) -> np.ndarray:
    """``P_j(x) = Σ_y P_j[x, y]`` (one prior, or kind j's)."""
    return (P[j] if P.ndim == 3 else P).sum(axis=1)


def joint_actions(n_a: int, t: int) -> np.ndarray:
    """``S[s, k]``: the action joint signal s recommends to the k-th attracted user.

    Signals are enumerated in :func:`itertools.product` order; ``t = 0`` gives one signal.
    """
    return np.array(list(itertools.product(range(n_a), repeat=t)), dtype=int).reshape(n_a**t, t)


def joint_objective(P: np.ndarray, U: np.ndarray, p: np.ndarray, T, S: np.ndarray) -> np.ndarray:
    """``c[x·n_s + s] = Σ_{k} p_{T_k} Σ_y P[x, y] U[T_k, S[s, k], y]`` for provider utility ``U[j, a, y]``
    (``P`` one prior or one per user kind)."""
    c = np.zeros((P.shape[-2], S.shape[0]))
    for k, j in enumerate(T):
        c += p[j] * expected(P, U, j)[:, S[:, k]]
    return c.ravel()


def joint_obedience_rows(P: np.ndarray, u: np.ndarray, T, S: np.ndarray, margin=0.0) -> sp.csr_matrix:
    """Obedience for a public signal: rows (k, s, b) for each attracted user T_k, each joint
    signal s and each action b ≠ S[s, k], over ``sigma[x, s]``; each must be ≥ 0.

    Row (k, s, b) has coefficient ``Σ_y P[x,y](u[T_k, S[s,k], y] − u[T_k, b, y]) − margin·P(x)``
    on ``sigma[x, s]`` (every user sees the whole signal, so obedience holds signal by signal).
    ``margin`` is one number or one per user (indexed by user, not by position in T).
    """
    n_x, n_s = P.shape[-2], S.shape[0]
    n_a = u.shape[1]
    rows, cols, vals = [], [], []
    r = 0
    xs = np.arange(n_x)
    for k, j in enumerate(T):
        Eu = expected(P, u, j)  # [x, a]
        Px = observation_mass(P, j)
        rec = S[:, k]
        mj = float(np.asarray(margin)[j]) if np.ndim(margin) else float(margin)
        for b in range(n_a):
            sig = np.flatnonzero(rec != b)
            coef = Eu[:, rec[sig]] - Eu[:, [b]] - mj * Px[:, None]  # [x, len(sig)]
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
    rows = [expected(P, u, j)[:, S[:, k]].ravel() for k, j in enumerate(T)]
    if not rows:
        return sp.csr_matrix((0, P.shape[-2] * S.shape[0]))
    return sp.csr_matrix(np.vstack(rows))


def epigraph_rows(P: np.ndarray, u: np.ndarray, N, n_s: int) -> sp.csr_matrix:
    """Rows (q, s, a) over ``[sigma[x, s], t[q, s]]``: ``t[q, s] − Σ_x sigma[x, s] Σ_y P[x,y] u[N_q, a, y] ≥ 0``."""
    n_x = P.shape[-2]
    n_a = u.shape[1]
    n_sig = n_x * n_s
    blocks = []
    for q, j in enumerate(N):
        Eu = expected(P, u, j)  # [x, a]
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


def build_attracted_set_lp(
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
    obedience_margin=0.0,
    own_weight: np.ndarray | None = None,
    attract_const: np.ndarray | None = None,
    members=None,
    profiles: np.ndarray | None = None,
) -> tuple[LinearProgram, np.ndarray]:
    """The LP for attracted set ``T`` (module docstring); returns it and ``S``.

    ``profiles[s, t]`` restricts the signals to these recommendation profiles (one action per
    attracted user ``T[t]``; default: all of A^T), e.g. those an optimal solution is known to use.

    Users may be *kinds* (docs/model.md §14): then ``P`` is one prior per kind ``[k, x, y]``
    and ``u``, ``U``, ``p`` are per kind. ``members`` (default: everyone) are those who see
    this scheme; the ones outside T must not prefer it.

    ``participation[j]`` (default ``v_out``) is the lower bound on an attracted user's
    value; ``outside_cap[j]`` (default ``v_out``) the upper bound on the others'.
    ``leave[j]`` is i's payoff from a user it does not attract. Users with
    ``v_out = −inf`` (no other provider) must be in T. Columns: ``sigma[x, s]`` then ``t[q, s]``.
    ``obedience_margin``: one number or one per user. An attracted user j contributes
    ``p_j (own_weight[j]·own_j + attract_const[j])`` (defaults 1 and 0: her own outcome's payoff).
    """
    m = u.shape[0]
    n_x, n_a = P.shape[-2], u.shape[1]
    T = list(T)
    N = [j for j in (range(m) if members is None else members) if j not in T]
    if profiles is None or not T:
        S = joint_actions(n_a, len(T))
    else:
        S = np.asarray(profiles, dtype=int).reshape(-1, len(T))
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
    weight = np.ones(m) if own_weight is None else np.asarray(own_weight, dtype=float)
    const = np.zeros(m) if attract_const is None else np.asarray(attract_const, dtype=float)
    c = np.concatenate([joint_objective(P, U, p * weight, T, S), np.zeros(len(N) * n_s)])
    col_hi = np.concatenate([np.ones(n_sig), np.full(len(N) * n_s, INF)])
    offset = float(sum(p[j] * leave[j] for j in N) + sum(p[j] * const[j] for j in T))
    lp = LinearProgram.build(c=c, A=A, row_lower=lo, row_upper=hi, col_lower=0.0, col_upper=col_hi, sense="max", offset=offset)
    return lp, S


# --------------------------------------------------------------------------- menus


@dataclass(frozen=True, eq=False)
class MenuLayout:
    """Columns of :func:`build_menu_lp`: item t (for kind ``T[t]``) is ``sigma_t[x, a]`` at columns
    ``t·n_x·n_a + x·n_a + a``; then one epigraph block of ``n_a`` columns per pair in ``pairs``."""

    T: tuple[int, ...]
    n_x: int
    n_a: int
    pairs: tuple[tuple[int, int], ...]

    def schemes(self, x: np.ndarray) -> np.ndarray:
        """The items ``[t, x, a]`` of a solution (round-off removed, rows summing to 1)."""
        n = len(self.T) * self.n_x * self.n_a
        return clean_rows(np.asarray(x[:n], dtype=float).reshape(len(self.T), self.n_x, self.n_a))


def build_menu_lp(
    P: np.ndarray,
    u: np.ndarray,
    U: np.ndarray,
    p: np.ndarray,
    T,
    members,
    *,
    leave: np.ndarray,
    participation: np.ndarray,
    outside_cap: np.ndarray,
    obedience_margin=0.0,
    ic_slack=0.0,
    own_weight: np.ndarray | None = None,
    attract_const: np.ndarray | None = None,
) -> tuple[LinearProgram, MenuLayout]:
    """A menu of schemes, one per attracted kind, for the kinds ``members`` (docs/model.md §14).

    Kind k ∈ T gets the recommendation scheme ``σ_k[x, a]`` of its own report (revelation
    principle; the items of other reports copy one of them). Rows, with ``E_l[x, a] =
    Σ_y P_l[x, y] u_l[a, y]`` and ``f_k = Σ_{x,a} σ_k[x, a] E_k[x, a]`` (k's value when she follows):

    * ``Σ_a σ_k[x, a] = 1`` and obedience ``Σ_x σ_k[x, a](E_k[x, a] − E_k[x, b] − δ_k P_k(x)) ≥ 0``;
    * participation ``f_k ≥ participation[k]`` (where finite);
    * epigraph: for every kind v ∈ members and item r ∈ T, r ≠ v: ``t_{v,r}[s] ≥ Σ_x σ_r[x, s] E_l[x, b]``
      for all b, so ``Σ_s t_{v,r}[s]`` bounds v's value of item r (convex in σ_r);
    * incentive compatibility for v ∈ T: ``f_l − Σ_s t_{v,r}[s] ≥ −ic_slack[v]``;
    * "does not prefer any item" for v ∉ T: ``Σ_s t_{v,r}[s] ≤ outside_cap[v]``.

    Objective: ``Σ_{k∈T} p_k (own_weight[k] Σ σ_k[x, a] Σ_y P_k U_k[a, y] + attract_const[k]) +
    Σ_{v∉T} p_l leave[v]``. Arrays are per kind; ``P`` one prior or one per kind.
    """
    K = u.shape[0]
    n_x, n_a = P.shape[-2], u.shape[1]
    T = tuple(int(k) for k in T)
    members = tuple(int(k) for k in members)
    N = [k for k in members if k not in T]
    pairs = tuple((v, r) for v in members for r in T if v != r)
    block = n_x * n_a
    n_col = len(T) * block + len(pairs) * n_a
    weight = np.ones(K) if own_weight is None else np.asarray(own_weight, dtype=float)
    const = np.zeros(K) if attract_const is None else np.asarray(attract_const, dtype=float)
    margin = np.broadcast_to(np.asarray(obedience_margin, dtype=float), (K,))
    slack = np.broadcast_to(np.asarray(ic_slack, dtype=float), (K,))
    rows, lo, hi = [], [], []

    def add(cols, vals, low, high):
        row = np.zeros(n_col)
        np.add.at(row, np.asarray(cols, dtype=int), np.asarray(vals, dtype=float))
        rows.append(row)
        lo.append(low)
        hi.append(high)

    c = np.zeros(n_col)
    for t, k in enumerate(T):
        base = t * block
        Ek, Pk = expected(P, u, k), observation_mass(P, k)
        c[base : base + block] = p[k] * weight[k] * expected(P, U, k).ravel()
        for x in range(n_x):
            add(base + x * n_a + np.arange(n_a), np.ones(n_a), 1.0, 1.0)
        for a in range(n_a):
            for b in range(n_a):
                if a != b:
                    add(base + np.arange(n_x) * n_a + a, Ek[:, a] - Ek[:, b] - margin[k] * Pk, 0.0, INF)
        if np.isfinite(participation[k]):
            add(base + np.arange(block), Ek.ravel(), float(participation[k]), INF)
    for q, (v, r) in enumerate(pairs):
        tcol = len(T) * block + q * n_a
        El = expected(P, u, v)
        rbase = T.index(r) * block
        for s in range(n_a):  # item r's signal s recommends action s
            for b in range(n_a):
                add([tcol + s] + list(rbase + np.arange(n_x) * n_a + s), [1.0] + list(-El[:, b]), 0.0, INF)
        if v in T:
            lbase = T.index(v) * block
            add(list(lbase + np.arange(block)) + list(tcol + np.arange(n_a)),
                list(expected(P, u, v).ravel()) + [-1.0] * n_a, -float(slack[v]), INF)
        else:
            add(tcol + np.arange(n_a), np.ones(n_a), -INF, float(outside_cap[v]))
    offset = float(sum(p[k] * const[k] for k in T) + sum(p[v] * leave[v] for v in N))
    A = sp.csr_matrix(np.array(rows)) if rows else sp.csr_matrix((0, n_col))
    col_hi = np.concatenate([np.ones(len(T) * block), np.full(len(pairs) * n_a, INF)])
    lp = LinearProgram.build(c=c, A=A, row_lower=lo, row_upper=hi, col_lower=0.0, col_upper=col_hi, sense="max",
                             offset=offset)
    return lp, MenuLayout(T, n_x, n_a, pairs)
