"""Anonymous deviations over vertex posteriors (docs/model.md §15): measurements, not a test.

1. **Vertex counts** of the arrangement of all user types' indifference hyperplanes in Δ(X),
   as they grow with the number of types, actions and observations |X|: every vertex of the
   full arrangement, and the vertices an optimal deviation needs (relevant pairs and cell
   vertices only, :func:`~pluralign.analysis.responses.vertex_milp.deviation_vertices`).
2. **Exact best-response time**: :func:`~pluralign.analysis.responses.vertex_milp.vertex_deviation`
   (vertices, then the MILP over attracted sets, then the LP of the set found) on the same grid,
   against a competitor that uses a random three-signal scheme (each type's outside value is
   what that scheme gives her; ties go to the deviator: ``attract = leave`` = that value; a type
   left alone pays the deviator what her action under the competitor's scheme pays). A row
   stops at the first size whose slowest seed exceeds the limit (the run is killed there).
3. The same for an uninformative and a fully revealing competitor (full run only).
4. The MILP formulations compared on one row (full run only).

Instances are seeded random markets with X = Y (so ``g_user = u``), utilities uniform on
[0, 1] and Dirichlet masses. Each timed call runs in a fresh process (so a slow one can be
stopped); times are wall-clock seconds inside that process.

Usage: ``python benchmarks/arrangement.py [--quick] [--limit 10] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time
from math import comb

import numpy as np

from pluralign.analysis.responses.arrangement import arrangement_counts, indifference_normals, prepare_hyperplanes
from pluralign.analysis.responses.vertex_milp import deviation_vertices, vertex_deviation


def line(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- instances


def instance(seed: int, n_types: int, n_actions: int, n_x: int, competitor: str = "scheme"):
    """``(Px, g_user, g_prov, mass, attract, leave, leave_payoff)`` for one seeded market."""
    rng = np.random.default_rng([seed, n_types, n_actions, n_x])
    Px = rng.dirichlet(np.ones(n_x))
    g_user = rng.random((n_types, n_actions, n_x))
    g_prov = rng.random((n_types, n_actions, n_x))
    mass = rng.dirichlet(np.ones(n_types))
    if competitor == "scheme":
        sigma = rng.dirichlet(np.ones(3), size=n_x)  # sigma[x, s]
    elif competitor == "none":
        sigma = np.ones((n_x, 1))
    elif competitor == "full":
        sigma = np.eye(n_x)
    else:
        raise ValueError(competitor)
    W = Px[:, None] * sigma  # w_s(x)
    u = np.einsum("kax,xs->ksa", g_user, W)
    value = u.max(axis=2).sum(axis=1)
    act = u.argmax(axis=2)  # the lowest-index best action
    pay = np.take_along_axis(np.einsum("kax,xs->ksa", g_prov, W), act[:, :, None], axis=2)[:, :, 0].sum(axis=1)
    return Px, g_user, g_prov, mass, value, value, pay


# --------------------------------------------------------------------------- 1. counts


def bench_counts(types, actions, observations, max_subsets: float) -> None:
    line("[1] vertices of the arrangement in Δ(X): full arrangement / needed by a deviation (seed 0)")
    line("    (time: the needed vertices, seconds; '—': more than "
         f"{max_subsets:.0e} candidate systems, not run)")
    line("    |X| |A| " + "".join(f"{f'{t} types':>24s}" for t in types))
    for n_x in observations:
        for n_a in actions:
            cells = []
            for t in types:
                Px, gu, *_ = instance(0, t, n_a, n_x)
                H = indifference_normals(gu)
                U = len(prepare_hyperplanes(H, n_x=n_x))
                if comb(U + n_x, n_x - 1) > max_subsets:
                    cells.append(f"{'—':>24s}")
                    continue
                full = arrangement_counts(H, n_x=n_x).vertices
                started = time.perf_counter()
                needed = deviation_vertices(gu).shape[0]
                sec = time.perf_counter() - started
                cells.append(f"{f'{full} / {needed} ({sec:.2f}s)':>24s}")
            line(f"    {n_x:3d} {n_a:3d} " + "".join(cells))
    line()


# --------------------------------------------------------------------------- 2. timing


def _child(conn, args, kwargs) -> None:
    started = time.perf_counter()
    r = vertex_deviation(*instance(*args), **kwargs)
    conn.send((time.perf_counter() - started, r.bound, r.n_vertices, int(r.attracted.sum()), r.status))
    conn.close()


def timed(args, limit: float, **kwargs):
    """``(seconds, bound, n_vertices, n_attracted, status)``, or ``None`` if it ran past ``limit``."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(send, args, kwargs))
    p.start()
    send.close()
    out = recv.recv() if recv.poll(limit) else None
    p.join(timeout=0 if out is None else None)
    if p.is_alive():
        p.kill()
        p.join()
    return out


def bench_times(title, types, actions, observations, seeds, limit, competitor="scheme", **kwargs) -> dict:
    line(title)
    line(f"    median / slowest of {seeds} seed(s), seconds; |V| and attracted types of seed 0 below; "
         f"a row stops once a seed exceeds {limit:g} s")
    line("    |X| |A| " + "".join(f"{f'{t} types':>16s}" for t in types))
    largest = {}
    for n_x in observations:
        for n_a in actions:
            cells, notes, stopped = [], [], False
            for t in types:
                if stopped:
                    cells.append(f"{'':>16s}")
                    notes.append(f"{'':>16s}")
                    continue
                runs = [timed((s, t, n_a, n_x, competitor), limit, **kwargs) for s in range(seeds)]
                if any(r is None for r in runs):
                    done = sorted(r[0] for r in runs if r is not None)
                    med = f"{np.median(done):.2f}" if len(done) > seeds // 2 else "—"
                    cells.append(f"{f'{med} / >{limit:g}':>16s}")
                    notes.append(f"{'':>16s}")
                    stopped = True
                    continue
                secs = sorted(r[0] for r in runs)
                cells.append(f"{f'{np.median(secs):.2f} / {secs[-1]:.2f}':>16s}")
                notes.append(f"{f'|V|={runs[0][2]} T={runs[0][3]}':>16s}")
                largest[(n_x, n_a)] = t
                if secs[-1] > limit:
                    stopped = True
            line(f"    {n_x:3d} {n_a:3d} " + "".join(cells))
            line("            " + "".join(notes))
    line("    largest number of types within the limit (every seed): "
         + ", ".join(f"|X|={x} |A|={a}: {largest.get((x, a), '—')}" for x in observations for a in actions))
    line()
    return largest


def bench_formulations(types, seeds, limit) -> None:
    line("[4] MILP formulations on |X| = 2, |A| = 3 (random-scheme competitor): median / slowest, seconds")
    forms = ("cells", "persp", "bigm")
    line("    types " + "".join(f"{f:>18s}" for f in forms))
    for t in types:
        cells = []
        for f in forms:
            runs = [timed((s, t, 3, 2, "scheme"), limit, formulation=f) for s in range(seeds)]
            done = sorted(r[0] for r in runs if r is not None)
            slow = f">{limit:g}" if len(done) < len(runs) else f"{done[-1]:.2f}"
            med = f"{np.median(done):.2f}" if len(done) > seeds // 2 else "—"
            cells.append(f"{f'{med} / {slow}':>18s}")
        line(f"    {t:5d} " + "".join(cells))
    line()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run (smaller grid, one seed)")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per best response before a row stops")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 3, quick 1)")
    args = ap.parse_args()
    seeds = args.seeds or (1 if args.quick else 3)
    line(f"pluralign arrangement benchmark — {platform.platform()}, {os.cpu_count()} cores, "
         f"load average {os.getloadavg()[0]:.1f}, numpy {np.__version__}")
    line()
    if args.quick:
        bench_counts([5, 10, 20, 50], [2, 3], [2, 3], 2e6)
        bench_times("[2] exact best response against a random-scheme competitor", [5, 10, 20, 50], [3], [2, 3], seeds,
                    args.limit)
        return
    types = [5, 10, 20, 50, 100, 200]
    bench_counts(types, [2, 3], [2, 3, 4], 2e7)
    bench_times("[2] exact best response against a random-scheme competitor", types, [2, 3], [2, 3, 4], seeds,
                args.limit)
    for tag, comp, what in (("3a", "none", "an uninformative"), ("3b", "full", "a fully revealing")):
        bench_times(f"[{tag}] exact best response against {what} competitor", types, [3], [2, 3], seeds, args.limit,
                    competitor=comp)
    bench_formulations([20, 50, 100], seeds, args.limit)


if __name__ == "__main__":
    main()
