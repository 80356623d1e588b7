"""Experiment ``competition_dynamics``: where competition from silence leads (docs/model.md §8.4).

The predecessor paper's simulation: providers start uninformative and best-respond in turn;
what do users get, and what do providers earn, round after round? Each task runs
:func:`~pluralign.analysis.solvers.dynamics.dynamics_solve` from silence on one market, in one
regime, and records the run's path (:attr:`~pluralign.analysis.solvers.results.DynamicsRun.trajectory`):
after every best-response move and every margin-ladder jump, the users' utility — as the
share of the value of information they get, ``(Σ_j p_j E[u_j] − NOINFO)/(OPT − NOINFO)``
(0: silence, 1: what an aligned model gives) — and each provider's payoff. A jump replaces
the δ-ladder's moves (``skipped_moves``, ~10⁵–10⁶ at δ = 10⁻⁶) by one point.

Markets (``market``): a bundled market (``prosecutor``, ``biased_pair``, ``forecast``,
``match_mismatch``; users' utilities perturbed by seeded noise when ``perturb > 0``) or
``aligned`` (random markets aligned by construction, :func:`pluralign.catalog.aligned_construction`,
with user-specific providers and noise η = ``noise``). Users follow recommendations they are indifferent
about; provider ties go to the lowest index.

Each row: how the run ended (``status``, ``rounds``, ``moves``, ``jumps``, ``skipped_moves``),
whether its end is a verified equilibrium, the users' final share of the value of
information, and the path (``path_move``: the moves made so far at each point;
``path_equivalent``: the same with each jump counted as the δ-ladder moves it replaced;
``path_kind``; ``path_share``; ``path_payoffs`` per provider).

>>> row = run(Params(market="prosecutor", regime="personalized"), seed=0)
>>> row["status"], row["verified"], round(row["final_share"], 6), row["jumps"] >= 1
('converged', True, 1.0, True)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pluralign import catalog
from pluralign.analysis.benchmarks import noinfo, opt
from pluralign.analysis.game import ProviderGame
from pluralign.analysis.solvers.dynamics import dynamics_solve
from pluralign.model.market import Market
from pluralign.model.users import ResponseRule
from pluralign.workflows.experiments.registry import Experiment, group_rows, register

__all__ = ["Params", "make_market", "run", "figures", "summary", "EXPERIMENT"]

#: users follow recommendations they are indifferent about; provider ties go to the lowest index
RULE = ResponseRule(action_tie="recommended")
MARKETS = ("prosecutor", "biased_pair", "forecast", "match_mismatch")


class Params(BaseModel):
    """Task parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    market: str = Field("aligned", description="'aligned' (random, aligned by construction) or a bundled market")
    regime: Literal["personalized", "anonymous"] = Field("personalized", description="personalized | anonymous")
    mode: Literal["actions", "usage"] = Field("actions", description="providers earn from all users' actions (actions) or their own (usage)")
    noise: float = Field(0.3, ge=0.0, le=0.5, description="aligned: noise η of the construction")
    perturb: float = Field(0.0, ge=0.0, le=0.5, description="bundled markets: seeded noise on users' utilities")
    n_users: int = Field(2, ge=1, le=6, description="aligned: number of user types")
    n_providers: int = Field(2, ge=2, le=4, description="aligned: number of providers")
    n_states: int = Field(3, ge=2, le=4, description="aligned: number of states")
    n_actions: int = Field(3, ge=2, le=3, description="aligned: number of actions")
    max_rounds: int = Field(60, ge=1, le=10_000, description="rounds of best responses")
    jumps: bool = Field(True, description="jump margin ladders (False: climb them move by move)")

    @field_validator("market")
    @classmethod
    def _known_market(cls, value: str) -> str:
        return catalog.choice(value, ("aligned",), "'aligned'")


def make_market(params: Params, seed: int) -> Market:
    """The task's market (module docstring)."""
    return catalog.aligned_or_bundled(params.market, seed, noise=params.noise, perturb=params.perturb,
                                      n_states=params.n_states, n_actions=params.n_actions, n_users=params.n_users,
                                      n_providers=params.n_providers)


def run(params: Params, seed: int) -> dict:
    """Dynamics from silence on one market; the run's path as columns (module docstring)."""
    market = make_market(params, seed)
    game = ProviderGame(market, params.regime, mode=params.mode, rule=RULE)
    found = dynamics_solve(game, starts=("uninformative",), max_rounds=params.max_rounds, random_state=seed,
                           jumps=params.jumps)
    (r,) = found.runs
    p = market.p
    top, bottom = float(p @ opt(market)), float(p @ noinfo(market))
    path = r.path()
    welfare = path["utilities"] @ p
    # no value of information: users have all there is (share 1)
    share = (welfare - bottom) / (top - bottom) if top - bottom > 1e-12 else np.ones_like(welfare)
    moves = np.cumsum([kind in ("move", "polish") for kind in path["kind"]])
    verified = bool(found.verified) and r.status == "converged"
    return {
        "status": r.status,
        "rounds": r.rounds,
        "moves": r.moves,
        "jumps": len(r.jumps),
        "skipped_moves": r.skipped_moves,
        "polished": r.polished,
        "verified": verified,
        "opt": top,
        "noinfo": bottom,
        "final_utility": float(welfare[-1]),
        "final_share": float(share[-1]),
        "path_move": [int(x) for x in moves],
        "path_equivalent": [int(x) for x in path["equivalent"]],
        "path_kind": list(path["kind"]),
        "path_share": [float(x) for x in share],
        "path_payoffs": [[float(v) for v in row] for row in path["payoffs"]],
        "providers": list(market.providers),
        "seconds_run": r.seconds,
    }


def _polyline(x: np.ndarray, y: np.ndarray, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a path: a step after each move, and across a jump the δ-ladder it replaced,
    linear in moves (sampled, so that it reads right on a log axis)."""
    xs, ys = [x[0]], [y[0]]
    for k in range(1, len(x)):
        if kinds[k] == "jump" and x[k] > x[k - 1]:
            grid = np.geomspace(x[k - 1], x[k], 60)[1:]
            xs.extend(grid)
            ys.extend(y[k - 1] + (y[k] - y[k - 1]) * (grid - x[k - 1]) / (x[k] - x[k - 1]))
        else:
            xs.extend([x[k], x[k]])
            ys.extend([y[k - 1], y[k]])
    return np.asarray(xs), np.asarray(ys)


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """Users' share of the value of information and providers' payoffs along each run, per regime,
    against the moves of the δ-ladder (a jump spans the moves it replaced; log scale)."""
    if not rows:
        return []
    regimes = [r for r in ("personalized", "anonymous") if any(row.get("regime") == r for row in rows)]
    fig = Figure(figsize=(12.5, 3.7 * len(regimes)), layout="constrained")
    axes = fig.subplots(len(regimes), 2, squeeze=False)
    colours = {name: f"C{k}" for k, name in enumerate(MARKETS + ("aligned",))}
    for row_axes, regime in zip(axes, regimes):
        ax_u, ax_p = row_axes
        labelled: set[str] = set()
        for row in rows:
            if row.get("regime") != regime or not row.get("path_equivalent"):
                continue
            name = row["market"]
            colour = colours.get(name, "C9")
            kinds = list(row["path_kind"])
            x = 1.0 + np.asarray(row["path_equivalent"], dtype=float)  # the start at 1 on the log axis
            y = np.asarray(row["path_share"], dtype=float)
            label = None if name in labelled else name
            labelled.add(name)
            alpha, lw = (0.5, 0.9) if name == "aligned" else (0.95, 1.7)
            ax_u.plot(*_polyline(x, y, kinds), color=colour, alpha=alpha, lw=lw, label=label)
            jumps = [k for k, kind in enumerate(kinds) if kind == "jump"]
            ax_u.scatter(x[jumps], y[jumps], marker="^", color=colour, s=24, zorder=3)
            pay = np.asarray(row["path_payoffs"], dtype=float)
            for i in range(pay.shape[1]):
                ax_p.plot(*_polyline(x, pay[:, i], kinds), color=colour, alpha=alpha, lw=lw,
                          ls="-" if i == 0 else "--" if i == 1 else ":")
        for ax in (ax_u, ax_p):
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
        ax_u.set(xlabel="best-response moves at δ = 1e-6 (1 + moves; ▲ where a jump lands)",
                 ylabel="users' share of the value of information", title=f"{regime}: users, from silence",
                 ylim=(-0.05, 1.05))
        ax_p.set(xlabel="best-response moves at δ = 1e-6 (across a jump: the trend it replaced)",
                 ylabel="provider payoff", title=f"{regime}: providers (— first, -- second, ··· others)")
        ax_u.legend(fontsize="x-small", loc="upper left")
    return [("competition_dynamics", fig)]


def summary(rows: list[dict]) -> list[dict]:
    """Per market and regime: runs, converged and verified shares, jumps, skipped moves, final share."""
    table = []
    for (market, regime), group in group_rows(rows, ["market", "regime"]).items():
        table.append({
            "market": market,
            "regime": regime,
            "runs": len(group),
            "converged": float(np.mean([r["status"] == "converged" for r in group])),
            "verified": float(np.mean([bool(r["verified"]) for r in group])),
            "moves": float(np.mean([r["moves"] for r in group])),
            "jumps": float(np.mean([r["jumps"] for r in group])),
            "skipped moves": float(np.mean([r["skipped_moves"] for r in group])),
            "final share": float(np.mean([r["final_share"] for r in group])),
        })
    return table


EXPERIMENT = register(
    Experiment(
        name="competition_dynamics",
        description=(
            "Best-response dynamics from silence, margin ladders jumped: users' share of the value of information "
            "and providers' payoffs move by move, on the bundled and random aligned markets, in both regimes."
        ),
        params=Params,
        run=run,
        quick_grid={"market": list(MARKETS) + ["aligned"], "regime": ["personalized", "anonymous"]},
        full_grid={
            "market": list(MARKETS) + ["aligned"],
            "regime": ["personalized", "anonymous"],
            "mode": ["actions", "usage"],
            "noise": [0.1, 0.3],
        },
        quick_seeds=3,
        full_seeds=10,
        figures=figures,
        summary=summary,
    )
)
