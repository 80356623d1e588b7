"""Benchmarks of best responses and equilibria (not a test): prints figures measured in one run.

1. Personalized best-response dynamics, 5 providers x 1,000 user types, |X| = |A| = 5:
   pluralign's kept-alive, warm-started HiGHS models against the same dynamics solving
   every persuasion LP with ``scipy.optimize.linprog`` from scratch (target >= 10x).
2. Pure-equilibrium enumeration of a small anonymous market (partitions of X) against
   pygambit's ``enumpure_solve`` on the induced normal-form game (if pygambit is installed).
3. The largest anonymous instance (user types x actions) whose exact best response by
   attracted-set enumeration finishes within 10 s.
4. The largest number of user types whose exact anonymous best response finishes within
   10 s for |X| in {2, 3, 4} and |A| in {2, 3}: vertex posteriors (docs/model.md §15) next
   to attracted-set enumeration on the same markets (bounds agree to 1e-7 where both finish).

Usage: ``python benchmarks/equilibria.py [--quick]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import time

import numpy as np

from pluralign.analysis.game import ProviderGame
from pluralign.analysis.induced import pure_equilibria
from pluralign.analysis.policies import policy_class, random_schemes
from pluralign.analysis.solvers.dynamics import dynamics_solve
from pluralign.analysis.solvers.enumeration import enumerate_solve
from pluralign.catalog import random_market
from pluralign.model.schemes import Profile
from pluralign.model.users import DEFAULT_RULE, respond


def line(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- 1. dynamics


def bench_dynamics(n_users: int, rounds: int, backends: list[str]) -> dict:
    m = random_market(0, n_states=5, n_actions=5, n_users=n_users, n_providers=5)
    line(f"[1] personalized best-response dynamics: 5 providers x {n_users} users x |X|=|A|=5, "
         f"{rounds} rounds from 'uninformative', sequential")
    times = {}
    for backend in backends:
        repeats = 3 if backend in ("highs", "highs-per-user") else 1  # cheap ones: best of 3
        walls, cpus = [], []
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            res = dynamics_solve(ProviderGame(m, "personalized", backend=backend), starts=("uninformative",),
                                 max_rounds=rounds, verify_results=False)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        run = res.runs[0]
        util = respond(m, run.profile, DEFAULT_RULE).utility @ m.p
        times[backend] = min(walls)
        best = f"best of {repeats}" if repeats > 1 else "one run"
        line(f"    {backend:15s} {min(walls):8.2f} s wall, {min(cpus):8.2f} s CPU ({best}; {run.moves} provider moves; "
             f"mean user utility at the end {util:.4f})")
    base = times.get("highs")
    for backend, seconds in times.items():
        if backend != "highs" and base:
            line(f"    ratio {backend} / highs (reused, warm-started): {seconds / base:.1f}x")
    line("    (the backends may pick different optimal vertices of degenerate LPs, so trajectories can differ)")
    return times


# --------------------------------------------------------------------------- 2. enumeration


def bench_enumeration(n_states: int, n_providers: int, n_users: int) -> None:
    m = random_market(1, n_states=n_states, n_actions=2, n_users=n_users, n_providers=n_providers, user_specific=True)
    C = policy_class(m, "partitions")
    k = m.n_providers
    line(f"[2] pure-equilibrium enumeration, anonymous: {k} providers x {m.n_users} users, |X|={n_states} "
         f"({C.shape[0]} partitions -> {C.shape[0] ** k} profiles)")
    t0 = time.perf_counter()
    game = ProviderGame(m, "anonymous")
    res = enumerate_solve(game, verify_results=False)
    t_total = time.perf_counter() - t0
    induced = game.induced_game()  # the same payoffs, as a normal-form game
    table = induced.payoffs
    t0 = time.perf_counter()
    ours = pure_equilibria(np.round(table, 10), 0.0)
    t_detect = time.perf_counter() - t0
    line(f"    pluralign enumerate_solve (payoffs + equilibria): {t_total:.4f} s, "
         f"equilibrium detection alone {t_detect:.4f} s, {res.in_class_equilibria} pure equilibria")
    try:
        import pygambit as gbt
    except ImportError:
        line("    pygambit not installed: comparison skipped (pip install pygambit)")
        return
    t0 = time.perf_counter()
    game = induced.to_gambit()
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    eqs = gbt.nash.enumpure_solve(game).equilibria
    t_gambit = time.perf_counter() - t0
    theirs = sorted(
        tuple(next(s for s, st in enumerate(p.strategies) if eq[st] == 1) for p in game.players) for eq in eqs
    )
    same = theirs == sorted(ours)
    line(f"    pygambit enumpure_solve: {t_gambit:.4f} s (+ {t_build:.4f} s building the game), "
         f"{len(theirs)} pure equilibria; same set: {same}")
    line(f"    ratio pygambit solve / pluralign enumerate_solve: {t_gambit / t_total:.1f}x; "
         f"/ pluralign detection alone: {t_gambit / max(t_detect, 1e-9):.0f}x")


# --------------------------------------------------------------------------- 3. anonymous size


def _one_br(n_users: int, n_actions: int, queue) -> None:
    m = random_market(2, n_states=n_actions, n_actions=n_actions, n_users=n_users, n_providers=2, user_specific=True)
    prof = Profile("anonymous", random_schemes(m.n_observations, m.n_observations, (2,), 3))
    t0 = time.perf_counter()
    game = ProviderGame(m, "anonymous", method="exact", max_kinds=64, max_signals=10**12)
    br = game.best_response(prof, 0)
    queue.put((time.perf_counter() - t0, br.lp_solves))


def timed_br(n_users: int, n_actions: int, limit: float) -> tuple[float | None, int]:
    ctx = mp.get_context("spawn")  # a fresh process: forking after HiGHS has started its threads can hang
    queue = ctx.Queue()
    proc = ctx.Process(target=_one_br, args=(n_users, n_actions, queue))
    proc.start()
    proc.join(limit * 1.5)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, 0
    if queue.empty():
        return None, 0
    return queue.get()


def bench_anonymous(action_counts: list[int], limit: float = 10.0) -> None:
    line(f"[3] exact anonymous best response (2 providers, |X| = |A|, random market and profile), limit {limit:g} s")
    for n_a in action_counts:
        best = None
        n_users = 2
        while True:
            seconds, lps = timed_br(n_users, n_a, limit)
            shown = "over the limit" if seconds is None else f"{seconds:.2f} s, {lps} LPs"
            line(f"    {n_users:2d} user types x {n_a} actions (|A|^m = {n_a ** n_users}): {shown}")
            if seconds is None or seconds > limit:
                break
            best = (n_users, seconds)
            n_users += 1
        if best:
            line(f"    -> largest within {limit:g} s with {n_a} actions: {best[0]} user types ({best[1]:.2f} s)")


# --------------------------------------------------------------------------- 4. anonymous scale


def _scale_br(n_types: int, n_x: int, n_a: int, method: str, queue) -> None:
    m = random_market(11, n_states=n_x, n_actions=n_a, n_users=n_types, n_providers=2, user_specific=True)
    game = ProviderGame(m, "anonymous", method=method, max_kinds=64, max_signals=10**12)
    prof = game.random_profile(np.random.default_rng(5))
    t0 = time.perf_counter()
    br = game.best_response(prof, 0)
    queue.put((time.perf_counter() - t0, br.bound))


def timed(target, args, limit: float):
    """``target(*args, queue)`` in a forked process: ``(seconds, result)`` or ``(None, None)`` beyond ``limit``."""
    ctx = mp.get_context("spawn")  # a fresh process: forking after HiGHS has started its threads can hang
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    proc.join(limit * 1.5)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, None
    return queue.get() if not queue.empty() else (None, None)


def bench_scale(observations: list[int], actions: list[int], sizes: list[int], limit: float = 10.0) -> None:
    """The largest number of user types whose exact anonymous best response finishes within ``limit``:
    vertex posteriors (docs/model.md §15) next to attracted-set enumeration, on the same markets;
    where both finish their bounds must agree to 1e-7."""
    line(f"[4] exact anonymous best response at scale (2 providers, random market and profile), limit {limit:g} s")
    line("    |X| |A|   types   vertices (s)   attracted sets (s)   ratio   |bound difference|")
    for n_x in observations:
        for n_a in actions:
            alive = {"vertices": True, "exact": True}
            best = {"vertices": None, "exact": None}
            for n in sizes:
                got = {}
                for method in ("vertices", "exact"):
                    if alive[method]:
                        seconds, bound = timed(_scale_br, (n, n_x, n_a, method), limit)
                        if seconds is None or seconds > limit:
                            alive[method] = False
                        else:
                            got[method] = (seconds, bound)
                            best[method] = n
                if not got:
                    break
                v, e = got.get("vertices"), got.get("exact")
                ratio = f"{e[0] / v[0]:6.1f}x" if v and e else "     -"
                diff = f"{abs(v[1] - e[1]):.1e}" if v and e else "-"
                if v and e and abs(v[1] - e[1]) > 1e-7:
                    diff += "  DISAGREE"
                line(f"    {n_x:3d} {n_a:3d} {n:7d}   {v[0] if v else float('nan'):12.3f}   "
                     f"{e[0] if e else float('nan'):18.3f}   {ratio}   {diff}")
            line(f"    -> |X| = {n_x}, |A| = {n_a}: largest within {limit:g} s: vertex posteriors {best['vertices']} "
                 f"types, attracted sets {best['exact']} types")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute or less)")
    args = parser.parse_args()
    line(f"pluralign equilibria benchmarks ({'quick' if args.quick else 'full'}); python {platform.python_version()}, "
         f"{platform.machine()}")
    started = time.perf_counter()
    if args.quick:
        bench_dynamics(200, 2, ["highs", "scipy"])
        bench_enumeration(4, 3, 3)
        bench_anonymous([3], limit=10.0)
        bench_scale([2, 3], [3], [5, 8, 20, 50, 100], limit=10.0)
    else:
        bench_dynamics(1000, 3, ["highs", "highs-per-user", "highs-fresh", "scipy"])
        bench_enumeration(5, 3, 3)
        bench_anonymous([2, 3, 4, 5], limit=10.0)
        bench_scale([2, 3, 4], [2, 3], [5, 8, 10, 20, 50, 100, 150, 200, 300, 400], limit=10.0)
    line(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
