"""Benchmark: Weak Market Alignment for many users against a plain loop of scipy.optimize.linprog.

    python benchmarks/alignment.py                  # 10,000 users × 20 providers × 10 actions × 10 states
    python benchmarks/alignment.py --quick          # 1,000 users × 10 providers × 5 actions × 5 states
    python benchmarks/alignment.py --user-specific  # providers' utilities differ per user
    python benchmarks/alignment.py --loop-sample 2000   # time the linprog loop on 2,000 random users, extrapolate

Both sides solve the same per-user programs (min t s.t. −t ≤ M_j λ + c − u_j ≤ t,
λ ≥ 0) on the same random market in the same run. The baseline is the obvious
loop: one ``linprog(method="highs")`` call per user, with the constraint matrix
built once when the providers' utilities are shared. The script prints both
times, the ratio (target: at least 5×) and the largest difference in ε, which
must be below 1e-7 (exit status 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.optimize import linprog  # the baseline; pluralign itself reaches LPs only through pluralign.lp

from pluralign.analysis.alignment import provider_matrices, strong_alignment, weak_alignment
from pluralign.catalog import random_market

TARGET = 5.0
TOL = 1e-7


def linprog_loop(u: np.ndarray, M: np.ndarray, users: np.ndarray, shared: bool) -> np.ndarray:
    """ε_j for the given users, one linprog call each."""
    N, k = M.shape[1], M.shape[2]
    one = np.ones((N, 1))
    cost = np.concatenate([np.zeros(k + 1), [1.0]])
    bounds = [(0, None)] * k + [(None, None), (0, None)]
    A_shared = np.vstack([np.hstack([M[0], one, -one]), np.hstack([-M[0], -one, -one])]) if shared else None
    eps = np.empty(users.size)
    for n, j in enumerate(users):
        A = A_shared if shared else np.vstack([np.hstack([M[j], one, -one]), np.hstack([-M[j], -one, -one])])
        res = linprog(cost, A_ub=A, b_ub=np.concatenate([u[j], -u[j]]), bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"linprog failed for user {j}: {res.message}")
        eps[n] = res.fun
    return eps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 users × 10 providers × 5 actions × 5 states")
    ap.add_argument("--users", type=int)
    ap.add_argument("--providers", type=int)
    ap.add_argument("--actions", type=int)
    ap.add_argument("--states", type=int)
    ap.add_argument("--user-specific", action="store_true", help="providers' utilities depend on the user")
    ap.add_argument("--loop-sample", type=int, default=0, help="time linprog on this many random users and extrapolate (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    users, providers, actions, states = (1000, 10, 5, 5) if args.quick else (10_000, 20, 10, 10)
    users = args.users or users
    providers = args.providers or providers
    actions = args.actions or actions
    states = args.states or states

    market = random_market(
        args.seed, n_states=states, n_actions=actions, n_users=users, n_providers=providers,
        user_specific=args.user_specific,
    )
    shared = not args.user_specific
    print(
        f"alignment benchmark: {users} users × {providers} providers × {actions} actions × {states} states "
        f"({'user-specific' if args.user_specific else 'shared'} provider utilities), seed {args.seed}"
    )

    # warm up both sides once (first calls load LAPACK / HiGHS), then time one run each
    tiny = random_market(args.seed + 1, n_states=2, n_actions=2, n_users=3, n_providers=2, user_specific=args.user_specific)
    weak_alignment(tiny)
    linprog_loop(tiny.u.reshape(3, -1), provider_matrices(tiny), np.arange(3), shared)

    started = time.perf_counter()
    weak = weak_alignment(market)
    ours = time.perf_counter() - started
    print(
        f"pluralign weak_alignment (batched): {ours:8.2f} s  ({1e3 * ours / users:.3f} ms/user, "
        f"{weak.info['fallbacks']} HiGHS fallbacks)"
    )

    u = market.u.reshape(users, -1)
    M = provider_matrices(market)
    if args.loop_sample and args.loop_sample < users:
        sample = np.sort(np.random.default_rng(args.seed).choice(users, size=args.loop_sample, replace=False))
    else:
        sample = np.arange(users)
    started = time.perf_counter()
    eps = linprog_loop(u, M, sample, shared)
    measured = time.perf_counter() - started
    loop = measured * users / sample.size
    note = "" if sample.size == users else f", measured {measured:.2f} s on {sample.size} random users and extrapolated"
    print(f"scipy.optimize.linprog loop:        {loop:8.2f} s  ({1e3 * loop / users:.3f} ms/user{note})")

    ratio = loop / ours
    print(f"speed-up: {ratio:.1f}×  (target ≥ {TARGET:g}×: {'met' if ratio >= TARGET else 'NOT met'})")
    diff = float(np.abs(weak.epsilon[sample] - eps).max())
    same = diff <= TOL
    print(f"max |ε_pluralign − ε_linprog| = {diff:.1e} over {sample.size} users ({'identical' if same else 'DIFFERENT'} to {TOL:g})")
    check = weak.verify()
    print(f"certificates: duality gap {check.duality_gap:.1e}, dual infeasibility {check.dual_violation:.1e} ({'ok' if check.ok else 'FAILED'})")

    started = time.perf_counter()
    strong = strong_alignment(market)
    print(
        f"strong alignment (for reference): ε_S = {strong.epsilon:.6f} in {time.perf_counter() - started:.2f} s "
        f"({strong.info['rounds']} rounds, {strong.info['users_in_lp']} users in the LP)"
    )
    return 0 if same and check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
