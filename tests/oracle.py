"""A deliberately naive, independent oracle for users' responses, providers' payoffs and the
supremum of a provider's deviations (docs/model.md §4, §8). Test-only.

It reads nothing from pluralign but a market's arrays (``P``, ``u``, ``U``, ``p``) and a
profile's schemes, builds every matrix in Python loops, and solves its LPs with
``scipy.optimize.linprog``. It follows the documented semantics, not the engine's code:

* users: user j's tolerance is ``tol·(max u_j − min u_j)`` (1 if she is indifferent to
  everything); after each signal she takes a best action (ties: lowest / highest / the
  recommended one); she consults a provider whose value is within the tolerance of the best
  (ties: lowest / highest index, or split equally: "uniform");
* the supremum of provider i's deviations: i's value V_i for user j decides who she consults,
  through the set of providers tied with the best; between consecutive breakpoints of V_i
  (``v_o ± tol``) that set is constant. For every combination of one such *region* per user
  (personalized: each user alone), one LP over recommendation profiles of the users whose
  region is not "below every tie" maximizes i's payoff (action ties go to the deviator:
  obedience relaxed by the tolerance) with each user's value inside her region; users below
  every tie only get a value cap (epigraph rows). ``ties="deviator"``: every tie involving
  the deviator is won by it.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog

# --------------------------------------------------------------------------- users


def prior_of(P, j):
    """The prior user j acts on: the market's ``P[x, y]``, or hers when ``P`` holds one per user
    ``[j, x, y]`` (user kinds with private observations, docs/model.md §14)."""
    return P[j] if np.ndim(P) == 3 else P


def tolerance(u_j, tol):
    lo = min(float(v) for v in np.ravel(u_j))
    hi = max(float(v) for v in np.ravel(u_j))
    return tol * (hi - lo if hi > lo else 1.0)


def user_value(P, u_j, sigma):
    """V = Σ_s max_a Σ_{x,y} P[x,y] σ[x,s] u_j[a,y]."""
    n_x, n_y = P.shape
    n_a = u_j.shape[0]
    total = 0.0
    for s in range(sigma.shape[1]):
        best = -np.inf
        for a in range(n_a):
            g = 0.0
            for x in range(n_x):
                for y in range(n_y):
                    g += P[x, y] * sigma[x, s] * u_j[a, y]
            best = max(best, g)
        total += best
    return total


def user_outcome(P, u_j, sigma, action_tie, tol_j):
    """mu[a, y]: the user's joint distribution of action and state after following the scheme."""
    n_x, n_y = P.shape
    n_a = u_j.shape[0]
    mu = np.zeros((n_a, n_y))
    for s in range(sigma.shape[1]):
        w = [sum(P[x, y] * sigma[x, s] for x in range(n_x)) for y in range(n_y)]
        ps = sum(w)
        if ps <= 0:
            continue
        exp = [sum(w[y] * u_j[a, y] for y in range(n_y)) / ps for a in range(n_a)]
        top = max(exp)
        tied = [a for a in range(n_a) if exp[a] >= top - tol_j]
        if action_tie == "highest":
            act = tied[-1]
        elif action_tie == "recommended" and s < n_a and s in tied:
            act = s
        else:
            act = tied[0]
        for y in range(n_y):
            mu[act, y] += w[y]
    return mu


def opt_value(P, u_j):
    """OPT = Σ_x max_a Σ_y P[x,y] u_j[a,y]: the most any scheme is worth to her."""
    return sum(max(sum(P[x, y] * u_j[a, y] for y in range(P.shape[1])) for a in range(u_j.shape[0]))
               for x in range(P.shape[0]))


def noinfo_value(P, u_j):
    """NOINFO = max_a Σ_{x,y} P[x,y] u_j[a,y]: the least any scheme is worth to her."""
    return max(sum(P[x, y] * u_j[a, y] for x in range(P.shape[0]) for y in range(P.shape[1]))
               for a in range(u_j.shape[0]))


def pick(tied, rule):
    return min(tied) if rule == "lowest" else max(tied)


def respond(P, u, U, p, schemes, provider_tie, action_tie, tol, mode):
    """``(utility[j], payoff[i], shares[i][j])``; ``schemes[i][j]`` is provider i's scheme for user j."""
    k, m = len(schemes), u.shape[0]
    payoff = [0.0] * k
    utility = [0.0] * m
    shares = [[0.0] * m for _ in range(k)]
    for j in range(m):
        t = tolerance(u[j], tol)
        Pj = prior_of(P, j)
        vals = [user_value(Pj, u[j], schemes[o][j]) for o in range(k)]
        best = max(vals)
        tied = [o for o in range(k) if vals[o] >= best - t]
        weights = {o: 1.0 / len(tied) for o in tied} if provider_tie == "uniform" else {pick(tied, provider_tie): 1.0}
        for o, w in weights.items():
            shares[o][j] = w
            mu = user_outcome(Pj, u[j], schemes[o][j], action_tie, t)
            utility[j] += w * float(np.sum(mu * u[j]))
            for i in range(k):
                if mode == "actions" or i == o:
                    payoff[i] += p[j] * w * float(np.sum(mu * U[i, j]))
    return utility, payoff, shares


# --------------------------------------------------------------------------- regions of V_i


def regions(vals_others, t, provider_tie, ties, i, others_idx, W_i):
    """Regions of the deviator's value V_i for one user, each ``(lo, hi, own_weight, const)``: on it
    i earns ``own_weight·own + const`` (own = i's payoff from her own outcome). ``lo = -inf``: the
    region below every tie (she stays away whatever i does, a value cap only)."""
    if not others_idx:
        return [(-np.inf, np.inf, 1.0, 0.0, True)]
    V = max(vals_others)
    points = sorted({V - t} | {v + t for v in vals_others if v + t > V - t})
    edges = [-np.inf] + points + [np.inf]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi == np.inf:
            probe = lo + 1.0
        elif lo == -np.inf:
            probe = hi - 1.0
        else:
            probe = (lo + hi) / 2
        top = max(probe, V)
        tied_others = [o for o, v in zip(others_idx, vals_others) if v >= top - t]
        i_tied = probe >= top - t
        if not i_tied:
            if provider_tie == "uniform":
                const = sum(W_i[o] for o in tied_others) / len(tied_others)
            else:
                const = W_i[pick(tied_others, provider_tie)]
            out.append((lo, hi, 0.0, const, False))
        elif ties == "deviator":
            out.append((lo, hi, 1.0, 0.0, True))
        elif provider_tie == "uniform":
            n = len(tied_others) + 1
            out.append((lo, hi, 1.0 / n, sum(W_i[o] for o in tied_others) / n, True))
        else:
            winner = pick(tied_others + [i], provider_tie)
            if winner == i:
                out.append((lo, hi, 1.0, 0.0, True))
            else:
                out.append((lo, hi, 0.0, W_i[winner], True))
    return out


# --------------------------------------------------------------------------- the supremum


def _lp_max(P, u, Ui, p, users, chosen, tols):
    """One LP: users ``users`` share one scheme; ``chosen[q] = (lo, hi, w, c, inside)`` for users[q].

    Users with ``inside`` (i tied or winning) get recommendations (signals = action profiles over
    them), obedience relaxed by their tolerance, followed value in [lo − tol, hi]; the others a cap
    ``value ≤ hi`` (epigraph). Returns the max of Σ p_j (w_j own_j + c_j), or None if infeasible.
    Each user's rows are stated in units of her utility range (u − min)/range, so that the solver's
    absolute tolerances mean the same for every user.
    """
    u = np.array(u, dtype=float)
    chosen = list(chosen)
    tols = list(tols)
    for j in users:
        low = min(float(v) for v in np.ravel(u[j]))
        rng = max(float(v) for v in np.ravel(u[j])) - low
        rng = rng if rng > 0 else 1.0
        u[j] = (u[j] - low) / rng
        tols[j] = tols[j] / rng
        q = users.index(j)
        lo, hi, w, cst, inside = chosen[q]
        chosen[q] = ((lo - low) / rng, (hi - low) / rng, w, cst, inside)
    n_x, n_y = np.shape(P)[-2:]
    n_a = u.shape[1]
    B = [q for q in range(len(users)) if chosen[q][4]]
    N = [q for q in range(len(users)) if not chosen[q][4]]
    profiles = list(itertools.product(range(n_a), repeat=len(B)))
    n_s = len(profiles)
    n_sig = n_x * n_s
    n_var = n_sig + len(N) * n_s

    def col(x, s):
        return x * n_s + s

    c = np.zeros(n_var)
    const = 0.0
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    for x in range(n_x):
        row = np.zeros(n_var)
        for s in range(n_s):
            row[col(x, s)] = 1.0
        A_eq.append(row)
        b_eq.append(1.0)
    for bq, q in enumerate(B):
        j = users[q]
        Pj = prior_of(P, j)
        lo, hi, w, cst, _ = chosen[q]
        const += p[j] * cst
        value_row = np.zeros(n_var)
        for s, prof in enumerate(profiles):
            a = prof[bq]
            for x in range(n_x):
                gu = sum(Pj[x, y] * u[j, a, y] for y in range(n_y))
                gU = sum(Pj[x, y] * Ui[j, a, y] for y in range(n_y))
                c[col(x, s)] -= p[j] * w * gU  # linprog minimizes
                value_row[col(x, s)] += gu
            for b in range(n_a):  # obedience: Σ_x σ(x,s) Σ_y P (u(a) − u(b)) ≥ −tol Σ_x σ(x,s) P(x)
                if b == a:
                    continue
                row = np.zeros(n_var)
                for x in range(n_x):
                    gain = sum(Pj[x, y] * (u[j, a, y] - u[j, b, y]) for y in range(n_y))
                    px = sum(Pj[x, y] for y in range(n_y))
                    row[col(x, s)] = -(gain + tols[j] * px)
                A_ub.append(row)
                b_ub.append(0.0)
        if np.isfinite(lo):
            A_ub.append(-value_row)
            b_ub.append(-(lo - tols[j]))
        if np.isfinite(hi):
            A_ub.append(value_row)
            b_ub.append(hi)
    for nq, q in enumerate(N):
        j = users[q]
        Pj = prior_of(P, j)
        lo, hi, w, cst, _ = chosen[q]
        const += p[j] * cst
        if not np.isfinite(hi):
            continue
        budget = np.zeros(n_var)
        for s in range(n_s):
            t_col = n_sig + nq * n_s + s
            budget[t_col] = 1.0
            for a in range(n_a):  # t_{j,s} ≥ Σ_x σ(x,s) Σ_y P u_j(a, y)
                row = np.zeros(n_var)
                row[t_col] = -1.0
                for x in range(n_x):
                    row[col(x, s)] = sum(Pj[x, y] * u[j, a, y] for y in range(n_y))
                A_ub.append(row)
                b_ub.append(0.0)
        A_ub.append(budget)
        b_ub.append(hi)
    bounds = [(0, 1)] * n_sig + [(None, None)] * (len(N) * n_s)
    res = linprog(
        c, A_ub=np.array(A_ub) if A_ub else None, b_ub=np.array(b_ub) if b_ub else None,
        A_eq=np.array(A_eq), b_eq=np.array(b_eq), bounds=bounds, method="highs", options={"presolve": False, "primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return -res.fun + const


def supremum(P, u, U, p, schemes, i, provider_tie, action_tie, tol, mode, ties, regime, groups=None):
    """sup of Π_i over every deviation of provider i (module docstring). ``groups`` (lists of users
    who share one scheme) overrides the regime's: each user alone, or everybody together."""
    k, m = len(schemes), u.shape[0]
    others_idx = [o for o in range(k) if o != i]
    tols = [tolerance(u[j], tol) for j in range(m)]
    user_regions = []
    for j in range(m):
        Pj = prior_of(P, j)
        vals = [user_value(Pj, u[j], schemes[o][j]) for o in others_idx]
        W_i = {}
        for o in others_idx:
            mu = user_outcome(Pj, u[j], schemes[o][j], action_tie, tols[j])
            W_i[o] = float(np.sum(mu * U[i, j])) if mode == "actions" else 0.0
        regs = regions(vals, tols[j], provider_tie, ties, i, others_idx, W_i)
        # a region is reachable only if some scheme's value lies in it: NOINFO_j ≤ V_i ≤ OPT_j
        top, bottom = opt_value(Pj, u[j]), noinfo_value(Pj, u[j])
        regs = [r for r in regs if r[0] < top and r[1] > bottom] or [r for r in regs if r[0] <= top and r[1] >= bottom]
        if mode == "usage":  # i earns only while she uses it: own counts with i's share, nothing else
            regs = [(lo, hi, w, 0.0, inside) for lo, hi, w, cst, inside in regs]
        user_regions.append(regs)
    if groups is None:
        groups = [[j] for j in range(m)] if regime == "personalized" else [list(range(m))]
    total = 0.0
    for users in groups:
        best = -np.inf
        for chosen in itertools.product(*[user_regions[j] for j in users]):
            val = _lp_max(P, u, U[i], p, users, list(chosen), tols)
            if val is not None:
                best = max(best, val)
        total += best
    return total
