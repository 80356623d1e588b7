"""Experiment ``best_ai_selection``: competition among recommendation policies (docs/model.md §10).

One user, ``k`` providers with random utilities ``U_i``. Each provider commits to a
deterministic recommendation policy ``f_i : X → A``; the user follows the policy that
is best for her (ties split at random); providers best-respond in turn
(:func:`pluralign.analysis.best_ai.best_ai_dynamics`).

The user's utility moves from the providers' convex hull to independence with ``mix``:

    u = (1 − mix) · Σ_i λ_i U_i + mix · r,

with ``λ`` uniform on the simplex and ``r`` uniform on [0, 1] independently of the
providers: ``mix = 0`` puts the user in the hull, ``mix = 1`` makes her unrelated.

Each task records the hull distance (the simplex Weak Market Alignment error, docs/model.md
§7) and the cone error, OPT and NOINFO, the user's utility where the dynamics converge,
and the worst and best user utility over all pure equilibria of the policy game
(exhaustive enumeration). The claim to see: near the hull, every equilibrium gives the
user nearly OPT; away from it, competition does not always help.

>>> row = run(Params(), seed=0)
>>> row["converged"], 0 <= row["gap"] <= 1
(True, True)
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from pluralign.analysis.alignment import weak_alignment
from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.best_ai import best_ai_dynamics, best_ai_equilibria, policy_tables
from pluralign.model.market import Market
from pluralign.workflows.experiments.registry import Experiment, group_rows, mean_sem, register

__all__ = ["Params", "run", "make_market", "figures", "summary", "EXPERIMENT"]


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mix: float = Field(0.0, ge=0.0, le=1.0, description="0 = user in the providers' hull, 1 = unrelated to them")
    n_states: int = Field(2, ge=2, le=4)
    n_actions: int = Field(2, ge=2, le=3)
    n_providers: int = Field(2, ge=2, le=3)


def make_market(params: Params, seed: int) -> Market:
    """The task's market: one user, random providers, the user ``mix``-way between their hull and independence."""
    rng = np.random.default_rng(seed)
    n_y, n_a, k = params.n_states, params.n_actions, params.n_providers
    prior = rng.dirichlet(np.ones(n_y))
    prior = np.maximum(prior, 1e-3)
    prior /= prior.sum()
    U = rng.random((k, n_a, n_y))
    lam = rng.dirichlet(np.ones(k))
    r = rng.random((n_a, n_y))
    u = (1.0 - params.mix) * np.einsum("i,iay->ay", lam, U) + params.mix * r
    return Market.from_arrays(prior=prior, u=u[None], U=U, name=f"best-ai-mix{params.mix:g}-{seed}")


def run(params: Params, seed: int) -> dict:
    """Dynamics and all pure equilibria of the policy game on one market."""
    market = make_market(params, seed)
    tables = policy_tables(market)
    dyn = best_ai_dynamics(market, seed=seed, tables=tables)
    eqs = best_ai_equilibria(market)
    eq_utils = [float(e.user_utility[0]) for e in eqs]
    o, n = float(opt(market)[0]), float(noinfo(market)[0])
    at = float(dyn.user_utility[0])
    return {
        "hull_distance": float(weak_alignment(market, variant="simplex").epsilon[0]),
        "cone_epsilon": float(weak_alignment(market, variant="cone").epsilon[0]),
        "opt": o,
        "noinfo": n,
        "user_utility": at,
        "gap": o - at,
        "converged": bool(dyn.converged),
        "verified": bool(dyn.verified),
        "rounds": int(dyn.rounds),
        "n_equilibria": len(eqs),
        "worst_equilibrium_gap": o - min(eq_utils) if eq_utils else None,
        "best_equilibrium_gap": o - max(eq_utils) if eq_utils else None,
    }


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """Gap to OPT at convergence against hull distance; worst-equilibrium gap by mix."""
    if not rows:
        return []
    fig = Figure(figsize=(9.5, 3.8), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for (mix,), group in group_rows(rows, ["mix"]).items():
        ax.scatter([r["hull_distance"] for r in group], [r["gap"] for r in group], s=14, alpha=0.7, label=f"mix {mix:g}")
    ax.set(xlabel="hull distance (simplex alignment error)", ylabel="OPT − user utility at convergence",
           title="Best-AI selection: dynamics")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    labels, worst, best = [], [], []
    for (mix,), group in group_rows(rows, ["mix"]).items():
        labels.append(f"mix {mix:g}")
        worst.append(mean_sem(r["worst_equilibrium_gap"] for r in group))
        best.append(mean_sem(r["best_equilibrium_gap"] for r in group))
    x = np.arange(len(labels))
    ax2.bar(x - 0.2, [w[0] for w in worst], 0.4, yerr=[w[1] for w in worst], capsize=3, label="worst equilibrium")
    ax2.bar(x + 0.2, [b[0] for b in best], 0.4, yerr=[b[1] for b in best], capsize=3, label="best equilibrium")
    ax2.set_xticks(x, labels, fontsize="small")
    ax2.set(ylabel="mean OPT − user utility", title="Over all pure equilibria")
    ax2.grid(alpha=0.3, axis="y")
    ax2.legend(fontsize="small")
    return [("best_ai_selection", fig)]


def summary(rows: list[dict]) -> list[dict]:
    """Per mix: mean hull distance, gaps, and the share of converged runs."""
    table = []
    for (mix,), group in group_rows(rows, ["mix"]).items():
        table.append({
            "mix": mix,
            "markets": len(group),
            "hull distance": mean_sem(r["hull_distance"] for r in group)[0],
            "gap at convergence": mean_sem(r["gap"] for r in group)[0],
            "worst eq. gap": mean_sem(r["worst_equilibrium_gap"] for r in group)[0],
            "converged": sum(bool(r["converged"]) for r in group) / len(group),
        })
    return table


EXPERIMENT = register(
    Experiment(
        name="best_ai_selection",
        description=(
            "Providers compete with recommendation policies for a user who follows the best one: "
            "user utility at convergence when she lies near the providers' hull versus when she does not."
        ),
        params=Params,
        run=run,
        quick_grid={"mix": [0.0, 0.25, 0.5, 1.0]},
        full_grid={"mix": [0.0, 0.1, 0.25, 0.5, 0.75, 1.0], "n_states": [2, 3], "n_providers": [2, 3]},
        quick_seeds=8,
        full_seeds=100,
        figures=figures,
        summary=summary,
    )
)
