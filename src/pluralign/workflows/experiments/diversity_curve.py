"""Experiment ``diversity_curve``: alignment error against the number of providers (docs/model.md §7, §11).

A pool of providers is fixed per seed; the first ``n_providers`` of a seeded random
order of the pool form the market (so the subsets are nested and each seed's curve
is non-increasing: adding a provider can only enlarge the cone). For every market:

* ``mean_epsilon = Σ_j p_j ε_j`` and ``max_epsilon = max_j ε_j`` — Weak Market
  Alignment errors (cone weights, scalar offset);
* ``covered`` — the mass of users with ``ε_j ≤ cover_tol``;
* ``strong_epsilon`` — the Strong Market Alignment error ``ε_S``.

Sources:

* ``synthetic`` — users aligned by construction to a pool of ``pool`` random providers
  with noise η (:func:`pluralign.catalog.aligned_construction`, each user covered by
  a random third of the pool);
* ``anes`` — the ANES 1996 polling market (:mod:`pluralign.data.anes`; needs the
  ``data`` extra): voters grouped by self-placement, and a pool of nine advisers,
  the two partisans and ideologues at every point 1–7 of the scale.

>>> row = run(Params(source="synthetic", n_providers=3), seed=0)
>>> 0 <= row["mean_epsilon"] <= row["max_epsilon"]
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from pluralign.analysis.alignment import strong_alignment, weak_alignment
from pluralign.catalog import aligned_construction
from pluralign.model.market import Market
from pluralign.workflows.experiments.registry import Experiment, group_rows, mean_sem, register

__all__ = ["Params", "run", "pool_market", "figures", "summary", "EXPERIMENT", "ANES_POOL"]

#: ANES advisers: the two partisans and ideologues at every point of the 1–7 scale.
ANES_POOL = 9


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["synthetic", "anes"] = Field("synthetic", description="where the market comes from")
    n_providers: int = Field(2, ge=1, le=40, description="number of providers drawn from the pool")
    pool: int = Field(9, ge=1, le=40, description="synthetic: size of the provider pool")
    n_users: int = Field(20, ge=1, le=500, description="synthetic: number of user types")
    n_states: int = Field(3, ge=2, le=20)
    n_actions: int = Field(3, ge=2, le=20)
    noise: float = Field(0.02, ge=0.0, le=0.5, description="synthetic: noise η on the users' fit")
    cover_tol: float = Field(0.05, ge=0.0, le=1.0, description="a user is covered when ε_j ≤ this")


@lru_cache(maxsize=4)
def _anes_pool() -> Market:
    from pluralign.data.anes import anes_market

    return anes_market("selfLR", ideologues=tuple(float(x) for x in range(1, 8)), partisans=True)


def pool_market(params: Params, seed: int) -> Market:
    """The full pool market of this task (all providers)."""
    if params.source == "anes":
        return _anes_pool()
    return aligned_construction(
        seed,
        n_states=params.n_states,
        n_actions=params.n_actions,
        n_users=params.n_users,
        n_providers=params.pool,
        noise=params.noise,
        sparsity=2 / 3,
    ).market


def _subset(market: Market, keep: np.ndarray) -> Market:
    return market.replace(U=market.U[keep], providers=tuple(market.providers[i] for i in keep))


def run(params: Params, seed: int) -> dict:
    """Alignment errors of the market with the first ``n_providers`` of a seeded order of the pool."""
    full = pool_market(params, seed)
    k = full.n_providers
    if params.n_providers > k:
        raise ValueError(f"n_providers={params.n_providers} is more than the pool of {k} providers")
    order = np.random.default_rng([seed, 7]).permutation(k)
    keep = np.sort(order[: params.n_providers])
    market = _subset(full, keep)
    weak = weak_alignment(market)
    eps = weak.epsilon
    return {
        "pool_size": k,
        "providers": ",".join(market.providers),
        "mean_epsilon": float(market.p @ eps),
        "max_epsilon": float(eps.max()),
        "covered": float(market.p[eps <= params.cover_tol + 1e-12].sum()),
        "strong_epsilon": float(strong_alignment(market).epsilon),
    }


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """The diversity curves: mean and max ε_j, and the covered mass, against the number of providers."""
    if not rows:
        return []
    sources = group_rows(rows, ["source"])
    fig = Figure(figsize=(4.6 * len(sources), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(sources)))
    for ax, ((source,), group) in zip(axes, sources.items()):
        points = group_rows(group, ["n_providers"])
        xs = [key[0] for key in points]
        for column, label in (("mean_epsilon", "mean ε_j (mass-weighted)"), ("max_epsilon", "max ε_j"),
                              ("strong_epsilon", "ε_S")):
            stats = [mean_sem(r[column] for r in g) for g in points.values()]
            ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3, label=label)
        twin = ax.twinx()
        twin.plot(xs, [mean_sem(r["covered"] for r in g)[0] for g in points.values()], "k--", alpha=0.6,
                  label="covered mass")
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("mass of users covered")
        ax.set(xlabel="number of providers", ylabel="alignment error", title=f"Diversity curve ({source})")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        more, more_labels = twin.get_legend_handles_labels()
        ax.legend(handles + more, labels + more_labels, fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return [("diversity_curve", fig)]


def summary(rows: list[dict]) -> list[dict]:
    """Mean errors and covered mass per source and number of providers."""
    table = []
    for (source, k), group in group_rows(rows, ["source", "n_providers"]).items():
        table.append({
            "source": source,
            "providers": k,
            "markets": len(group),
            "mean ε_j": mean_sem(r["mean_epsilon"] for r in group)[0],
            "max ε_j": mean_sem(r["max_epsilon"] for r in group)[0],
            "ε_S": mean_sem(r["strong_epsilon"] for r in group)[0],
            "covered mass": mean_sem(r["covered"] for r in group)[0],
        })
    return table


EXPERIMENT = register(
    Experiment(
        name="diversity_curve",
        description=(
            "Alignment error against the number of providers: synthetic markets aligned to a pool of "
            "providers, and the ANES 1996 polling market with a pool of nine advisers."
        ),
        params=Params,
        run=run,
        quick_grid={"source": ["synthetic", "anes"], "n_providers": [1, 2, 3, 5, 7, 9]},
        full_grid={"source": ["synthetic", "anes"], "n_providers": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        quick_seeds=4,
        full_seeds=40,
        figures=figures,
        summary=summary,
    )
)
