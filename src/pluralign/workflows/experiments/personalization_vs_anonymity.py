"""Experiment ``personalization_vs_anonymity``: the papers' main claim (docs/model.md §9).

For a market with alignment errors ε_j (Weak Market Alignment, per user) and ε_S
(Strong Market Alignment), find equilibria among providers in both regimes
(best-response dynamics from several starts, every result verified by exact best
responses; users follow recommendations they are indifferent about, provider ties go
to the lowest index — the rule is recorded in every row) and record what users get:

* ``pers_max_gap`` / ``anon_max_gap`` — the largest ``OPT_j − E[u_j]`` over users and
  verified equilibria, per regime; ``*_agg_gap`` — the largest ``Σ_j p_j gap_j``;
* ``a_holds`` — guarantee A (personalized: ``gap_j ≤ 2ε_j``) on every verified equilibrium;
  ``c_holds`` — guarantee C (anonymous: ``Σ_j p_j gap_j ≤ 2ε_S``);
* ``pers_uninformed`` / ``anon_uninformed`` — whether "every provider uninformative" is a
  verified equilibrium (users left at NOINFO although OPT > NOINFO for some user).

Markets (``market``):

* ``aligned`` — random markets aligned by construction
  (:func:`pluralign.catalog.aligned_construction`) with per-user weights, noise η, and
  user-specific provider utilities (so that ε_S is informative);
* a bundled market name (``match_mismatch``, ``biased_pair``, ``prosecutor``,
  ``forecast``), with its users' utilities perturbed by seeded noise η (η = 0: the
  market itself).

The claim to see: personalized gaps stay under the 2ε line; anonymous markets can keep
users uninformed (``match_mismatch``: uninformative anonymous equilibrium with users at
½ while ε_j = 0) unless ε_S is small.

>>> row = run(Params(market="match_mismatch"), seed=0)
>>> row["anon_uninformed"], row["pers_uninformed"], round(row["pers_max_gap"], 6)
(True, False, 0.0)
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pluralign import catalog
from pluralign.analysis.alignment import strong_alignment, weak_alignment
from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.guarantees import check_guarantee
from pluralign.analysis.solvers.dynamics import dynamics_solve
from pluralign.model.market import Market
from pluralign.model.users import ResponseRule
from pluralign.workflows.experiments.registry import Experiment, group_rows, mean_sem, register

__all__ = ["Params", "make_market", "run", "figures", "summary", "EXPERIMENT"]

GUARANTEE_TOL = 1e-6
#: Users follow a recommendation they are indifferent about; provider ties go to the lowest index.
#: Under this rule the exact best responses' suprema are attained, so equilibria verify exactly.
RULE = ResponseRule(action_tie="recommended")


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    market: str = Field("aligned", description="'aligned' (random, aligned by construction) or a bundled market")
    noise: float = Field(0.0, ge=0.0, le=0.5, description="noise η on users' utilities")
    n_users: int = Field(3, ge=1, le=8, description="aligned: number of user types")
    n_providers: int = Field(2, ge=1, le=4, description="aligned: number of providers")
    n_states: int = Field(2, ge=2, le=4, description="aligned: number of states")
    n_actions: int = Field(2, ge=2, le=3, description="aligned: number of actions")

    @field_validator("market")
    @classmethod
    def _known_market(cls, value: str) -> str:
        return catalog.choice(value, ("aligned",), "'aligned'")


def make_market(params: Params, seed: int) -> Market:
    """The task's market (see the module docstring)."""
    return catalog.aligned_or_bundled(params.market, seed, noise=params.noise, perturb=params.noise,
                                      n_states=params.n_states, n_actions=params.n_actions, n_users=params.n_users,
                                      n_providers=params.n_providers)


def _regime(market: Market, regime: str, seed: int, eps_users: np.ndarray, eps_strong: float) -> dict:
    game = ProviderGame(market, regime, rule=RULE)
    search = dynamics_solve(game, random_state=seed)
    verified = search.verified
    o = opt(market)
    out: dict = {"equilibria": len(verified), "candidates": len(search)}
    if verified:
        gaps = np.array([o - e.utilities for e in verified])  # [e, j]
        out["max_gap"] = float(gaps.max())
        out["agg_gap"] = float((gaps @ market.p).max())
        checks = [check_guarantee(e.verification, epsilon=eps_users if regime == "personalized" else eps_strong,
                                  tol=GUARANTEE_TOL) for e in verified]
        out["guarantee_holds"] = all(c.holds for c in checks)
    else:
        out["max_gap"] = out["agg_gap"] = out["guarantee_holds"] = None
    informative = bool(np.any(o - noinfo(market) > 1e-6))
    out["uninformed"] = bool(informative and game.verify(game.uninformative()).verified)
    return out


def run(params: Params, seed: int) -> dict:
    """Alignment errors, then equilibria and guarantees in both regimes, for one market."""
    market = make_market(params, seed)
    eps = weak_alignment(market).epsilon
    eps_s = float(strong_alignment(market).epsilon)
    row = {
        "max_epsilon": float(eps.max()),
        "mean_epsilon": float(market.p @ eps),
        "strong_epsilon": eps_s,
        "opt": float(market.p @ opt(market)),
        "noinfo": float(market.p @ noinfo(market)),
    }
    pers = _regime(market, "personalized", seed, eps, eps_s)
    anon = _regime(market, "anonymous", seed, eps, eps_s)
    for prefix, res in (("pers", pers), ("anon", anon)):
        row[f"{prefix}_equilibria"] = res["equilibria"]
        row[f"{prefix}_max_gap"] = res["max_gap"]
        row[f"{prefix}_agg_gap"] = res["agg_gap"]
        row[f"{prefix}_uninformed"] = res["uninformed"]
    row["a_holds"] = pers["guarantee_holds"]
    row["c_holds"] = anon["guarantee_holds"]
    row["tie_rule"] = f"provider {RULE.provider_tie}, action {RULE.action_tie}, tol {RULE.tol:g}"
    return row


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """Users' worst gap against ε in each regime, with the 2ε line; share of uninformed markets."""
    if not rows:
        return []
    fig = Figure(figsize=(13.0, 3.9), layout="constrained")
    ax_p, ax_a, ax_u = fig.subplots(1, 3)
    for ax, prefix, eps_key, title in (
        (ax_p, "pers", "max_epsilon", "Personalized: max_j gap_j vs max_j ε_j"),
        (ax_a, "anon", "strong_epsilon", "Anonymous: Σ p_j gap_j vs ε_S"),
    ):
        gap_key = f"{prefix}_max_gap" if prefix == "pers" else f"{prefix}_agg_gap"
        for (market,), group in group_rows(rows, ["market"]).items():
            pts = [(r[eps_key], r[gap_key]) for r in group if r[gap_key] is not None]
            if pts:
                ax.scatter(*zip(*pts), s=16, alpha=0.75, label=market)
        hi = max([r[eps_key] for r in rows] + [0.05])
        ax.plot([0, hi], [0, 2 * hi], "k--", lw=1, label="2ε bound")
        ax.set(xlabel=eps_key.replace("_", " "), ylabel="gap to OPT", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    markets = list(group_rows(rows, ["market"]))
    x = np.arange(len(markets))
    for shift, prefix, label in ((-0.2, "pers", "personalized"), (0.2, "anon", "anonymous")):
        shares = [np.mean([bool(r[f"{prefix}_uninformed"]) for r in g]) for g in group_rows(rows, ["market"]).values()]
        ax_u.bar(x + shift, shares, 0.4, label=label)
    ax_u.set_xticks(x, [m[0] for m in markets], fontsize="small", rotation=20)
    ax_u.set(ylim=(0, 1.05), ylabel="share of markets", title="'All uninformative' is an equilibrium")
    ax_u.legend(fontsize="small")
    ax_u.grid(alpha=0.3, axis="y")
    return [("personalization_vs_anonymity", fig)]


def summary(rows: list[dict]) -> list[dict]:
    """Per market kind and noise η: mean ε, worst gaps over verified equilibria, the shares of
    markets where guarantees A and C hold, and where "all uninformative" is an anonymous equilibrium ("silent")."""
    table = []
    for (market, noise), group in group_rows(rows, ["market", "noise"]).items():
        def share(key: str, group=group) -> float:
            vals = [bool(r[key]) for r in group if r[key] is not None]
            return float(np.mean(vals)) if vals else float("nan")

        table.append({
            "market": market,
            "η": noise,
            "n": len(group),
            "max ε_j": mean_sem(r["max_epsilon"] for r in group)[0],
            "ε_S": mean_sem(r["strong_epsilon"] for r in group)[0],
            "gap pers.": max((r["pers_max_gap"] for r in group if r["pers_max_gap"] is not None), default=None),
            "gap anon.": max((r["anon_max_gap"] for r in group if r["anon_max_gap"] is not None), default=None),
            "A holds": share("a_holds"),
            "C holds": share("c_holds"),
            "silent anon.": share("anon_uninformed"),
        })
    return table


EXPERIMENT = register(
    Experiment(
        name="personalization_vs_anonymity",
        description=(
            "Equilibria of personalized and anonymous markets against the alignment error: gaps to OPT with "
            "the 2ε bound (guarantees A and C), and how often an uninformative anonymous equilibrium survives."
        ),
        params=Params,
        run=run,
        quick_grid={"market": ["match_mismatch", "biased_pair", "prosecutor", "aligned"], "noise": [0.0, 0.05, 0.1]},
        full_grid={
            "market": ["match_mismatch", "biased_pair", "prosecutor", "forecast", "aligned"],
            "noise": [0.0, 0.02, 0.05, 0.1, 0.2],
        },
        quick_seeds=3,
        full_seeds=40,
        figures=figures,
        summary=summary,
    )
)
