"""Experiment ``pluralistic_coverage``: which ANES voter groups a set of advisers covers (docs/model.md §7, §11).

The ANES 1996 polling market (:mod:`pluralign.data.anes`; needs the ``data`` extra),
with one of several named sets of advisers. For each voter group j the Weak Market
Alignment error ε_j (cone weights, scalar offset) says how far her preferences are
from a nonnegative mix of the advisers'; a group is *covered* when ε_j ≤ ``cover_tol``.
With personalized advisers, guarantee A (docs/model.md §9) then promises the group at
least OPT_j − 2ε_j in every equilibrium; uncovered groups have no such promise.

Adviser sets (ideal points on the 1–7 liberal–conservative scale):

=================  ==============================================
``partisans``       the Democratic and Republican party advisers
``centrist``        one moderate ideologue (4)
``left_right``      a liberal (2) and a conservative (6) ideologue
``three_ideologues`` liberal, moderate and conservative (2, 4, 6)
``partisans_three`` the partisans and the three ideologues
``every_position``  ideologues at every point 1…7
=================  ==============================================

The computation is deterministic (the data set is fixed), so one seed suffices.

>>> row = run(Params(advisers="every_position"), seed=0)
>>> row["covered_mass"]
1.0
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from pluralign.analysis.alignment import weak_alignment
from pluralign.model.market import Market
from pluralign.workflows.experiments.registry import Experiment, register

__all__ = ["Params", "ADVISER_SETS", "run", "figures", "summary", "EXPERIMENT"]

AdviserSet = Literal["partisans", "centrist", "left_right", "three_ideologues", "partisans_three", "every_position"]

#: name → (ideologues' ideal points, whether the two party advisers are included)
ADVISER_SETS: dict[str, tuple[tuple[float, ...], bool]] = {
    "partisans": ((), True),
    "centrist": ((4.0,), False),
    "left_right": ((2.0, 6.0), False),
    "three_ideologues": ((2.0, 4.0, 6.0), False),
    "partisans_three": ((2.0, 4.0, 6.0), True),
    "every_position": ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0), False),
}


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    advisers: AdviserSet = Field("three_ideologues", description="the named set of advisers")
    grouping: Literal["selfLR", "PID"] = Field("selfLR", description="voter groups: self-placement or party id")
    utility: Literal["linear", "quadratic"] = Field("linear", description="voters' utility around their ideal point")
    cover_tol: float = Field(0.05, ge=0.0, le=1.0, description="a group is covered when ε_j ≤ this")


@lru_cache(maxsize=32)
def _market(advisers: str, grouping: str, utility: str) -> Market:
    from pluralign.data.anes import anes_market

    ideologues, partisans = ADVISER_SETS[advisers]
    return anes_market(grouping, utility=utility, ideologues=ideologues, partisans=partisans)


def run(params: Params, seed: int) -> dict:
    """Per-group ε_j and the covered mass for one adviser set (``seed`` is recorded, not used)."""
    market = _market(params.advisers, params.grouping, params.utility)
    weak = weak_alignment(market)
    eps = weak.epsilon
    covered = eps <= params.cover_tol + 1e-12
    row = {
        "covered_mass": float(market.p[covered].sum()),
        "groups_covered": int(covered.sum()),
        "groups": market.n_users,
        "mean_epsilon": float(market.p @ eps),
        "max_epsilon": float(eps.max()),
        "worst_group": market.users[int(np.argmax(eps))] if not covered.all() else "",
        "uncovered": ",".join(u for u, c in zip(market.users, covered) if not c),
    }
    for name, e in zip(market.users, eps):
        row[f"eps:{name}"] = float(e)
    return row


def _groups(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for key in r:
            if key.startswith("eps:"):
                seen.setdefault(key[4:])
    return list(seen)


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """A heat map of ε_j: adviser sets × voter groups (one panel per grouping and utility)."""
    figs = []
    panels: dict[tuple, list[dict]] = {}
    for r in rows:
        panels.setdefault((r["grouping"], r["utility"]), []).append(r)
    for (grouping, utility), group in sorted(panels.items()):
        sets = [s for s in ADVISER_SETS if any(r["advisers"] == s for r in group)]
        users = _groups(group)
        grid = np.full((len(sets), len(users)), np.nan)
        for r in group:
            for c, u in enumerate(users):
                grid[sets.index(r["advisers"]), c] = r.get(f"eps:{u}", np.nan)
        fig = Figure(figsize=(1.0 + 1.05 * len(users), 1.2 + 0.5 * len(sets)), layout="constrained")
        ax = fig.subplots()
        im = ax.imshow(grid, cmap="viridis_r", vmin=0, vmax=max(0.5, float(np.nanmax(grid))), aspect="auto")
        for (a, b), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if v > 0.25 else "black")
        ax.set_xticks(range(len(users)), [u.replace("_", "\n") for u in users], fontsize=7)
        ax.set_yticks(range(len(sets)), sets, fontsize=8)
        ax.set_title(f"ANES 1996: alignment error ε_j by voter group ({grouping}, {utility} utility)")
        fig.colorbar(im, ax=ax, label="ε_j (0 = covered)")
        figs.append((f"pluralistic_coverage_{grouping}_{utility}", fig))
    return figs


def summary(rows: list[dict]) -> list[dict]:
    """Per adviser set: covered mass, groups covered, the worst-served group."""
    first_seed = min((r.get("seed", 0) for r in rows), default=0)  # the data are fixed: one seed is enough
    return [
        {
            "advisers": r["advisers"],
            "grouping": r["grouping"],
            "utility": r["utility"],
            "covered mass": r["covered_mass"],
            "groups covered": f"{r['groups_covered']}/{r['groups']}",
            "max ε_j": r["max_epsilon"],
            "worst group": r["worst_group"],
        }
        for r in sorted(rows, key=lambda r: (r["grouping"], r["utility"], list(ADVISER_SETS).index(r["advisers"])))
        if r.get("seed", 0) == first_seed
    ]


EXPERIMENT = register(
    Experiment(
        name="pluralistic_coverage",
        description=(
            "ANES 1996: which voter groups a given set of advisers covers (Weak Market Alignment error "
            "per group), and which it leaves out."
        ),
        params=Params,
        run=run,
        quick_grid={"advisers": list(ADVISER_SETS)},
        full_grid={"advisers": list(ADVISER_SETS), "grouping": ["selfLR", "PID"], "utility": ["linear", "quadratic"]},
        quick_seeds=1,
        full_seeds=1,
        figures=figures,
        summary=summary,
    )
)
