"""Experiment ``value_of_information``: how much information is worth to users, and how much a monopolist leaves them.

On random markets (:func:`pluralign.catalog.random_market`), with user masses ``p_j``:

* ``opt = Σ_j p_j OPT_j`` and ``noinfo = Σ_j p_j NOINFO_j`` (docs/model.md §6);
* ``value_of_information = opt − noinfo`` (≥ 0);
* ``monopoly_user = mean_i Σ_j p_j MONOPOLY_ij`` — users' utility when provider i alone
  persuades each of them, averaged over providers; ``monopoly_user_best`` lets each
  user pick her best monopolist; ``monopoly_provider`` is the providers' side;
* ``monopoly_share = (monopoly_user − noinfo) / value_of_information`` — the share of
  the value of information a monopolist passes on to users (``None`` when there is none).

It is light (a few tiny LPs per task) and is the experiment the sweep machinery is
tested on. Three parameters are **testing hooks**, not science: ``sleep_seconds``
makes every task sleep that long, ``fail_on_seed`` makes the task of that seed raise, and
``hold_file`` makes the tasks of seeds ≥ ``hold_from_seed`` wait until that file exists (at
most 120 s), so that a test can stop a sweep while it is certainly unfinished.

>>> row = run(Params(n_states=3), seed=1)
>>> row["value_of_information"] >= 0 and row["noinfo"] <= row["monopoly_user"] + 1e-9 <= row["opt"] + 2e-9
True
>>> run(Params(n_states=3), seed=1) == row
True
"""

from __future__ import annotations

import os
import time

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pydantic import BaseModel, ConfigDict, Field

from pluralign.analysis.benchmarks import benchmarks
from pluralign.catalog import random_market
from pluralign.workflows.experiments.registry import Experiment, group_rows, mean_sem, register, varying

__all__ = ["Params", "run", "figures", "summary", "EXPERIMENT"]


class Params(BaseModel):
    """Task parameters: the random market's dimensions (and two testing hooks)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    n_states: int = Field(2, ge=2, le=50, description="number of states of the world")
    n_actions: int = Field(2, ge=2, le=20, description="number of actions")
    n_users: int = Field(2, ge=1, le=20, description="number of user types")
    n_providers: int = Field(2, ge=1, le=20, description="number of providers")
    user_specific: bool = Field(False, description="providers' utilities depend on the user")
    sleep_seconds: float = Field(0.0, ge=0.0, le=60.0, description="testing hook: sleep this long in every task")
    fail_on_seed: int | None = Field(None, description="testing hook: the task with this seed raises")
    hold_file: str | None = Field(None, description="testing hook: tasks of seeds >= hold_from_seed wait for this file")
    hold_from_seed: int = Field(0, ge=0, description="testing hook: the first seed that waits for hold_file")


def _hold(path: str, limit: float = 120.0) -> None:
    """Wait until ``path`` exists (polling; at most ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def run(params: Params, seed: int) -> dict:
    """One random market: mass-weighted OPT, NOINFO and monopoly utilities (see the module docstring)."""
    if params.sleep_seconds:
        time.sleep(params.sleep_seconds)
    if params.hold_file is not None and seed >= params.hold_from_seed:
        _hold(params.hold_file)
    if params.fail_on_seed is not None and seed == params.fail_on_seed:
        raise RuntimeError(f"failing on purpose for seed {seed} (testing hook fail_on_seed)")
    market = random_market(
        seed,
        n_states=params.n_states,
        n_actions=params.n_actions,
        n_users=params.n_users,
        n_providers=params.n_providers,
        user_specific=params.user_specific,
    )
    b = benchmarks(market)
    p = market.p
    mono_user = np.array([[r.user_utility for r in per_provider] for per_provider in b.monopoly])  # [i, j]
    mono_provider = np.array([[r.provider_utility for r in per_provider] for per_provider in b.monopoly])
    opt = float(p @ b.opt)
    noinfo = float(p @ b.noinfo)
    voi = opt - noinfo
    monopoly_user = float((mono_user @ p).mean())
    return {
        "opt": opt,
        "noinfo": noinfo,
        "value_of_information": voi,
        "monopoly_user": monopoly_user,
        "monopoly_user_best": float(p @ mono_user.max(axis=0)),
        "monopoly_provider": float((mono_provider @ p).mean()),
        "monopoly_share": (monopoly_user - noinfo) / voi if voi > 1e-9 else None,
    }


def figures(rows: list[dict]) -> list[tuple[str, Figure]]:
    """Value of information and the monopolist's share of it against the number of states."""
    if not rows:
        return []
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_voi, ax_share = fig.subplots(1, 2)
    by_actions = group_rows(rows, ["n_actions"])
    for (n_actions,), group in by_actions.items():
        label = f"{n_actions} actions"
        points = group_rows(group, ["n_states"])
        xs = [k[0] for k in points]
        for ax, column in ((ax_voi, "value_of_information"), (ax_share, "monopoly_share")):
            stats = [mean_sem(r[column] for r in g) for g in points.values()]
            ax.errorbar(xs, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", capsize=3, label=label)
    ax_voi.set(xlabel="number of states", ylabel="OPT − NOINFO (mass-weighted)", title="Value of information")
    ax_share.set(xlabel="number of states", ylabel="(MONOPOLY − NOINFO) / (OPT − NOINFO)", title="Monopolist's share to users")
    ax_share.set_ylim(-0.05, 1.05)
    for ax in (ax_voi, ax_share):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return [("value_of_information", fig)]


def summary(rows: list[dict]) -> list[dict]:
    """Means per grid point (the parameters that vary, and always ``n_states``)."""
    keys = ["n_states", *varying(rows, ["n_actions", "n_users", "n_providers", "user_specific"])]
    table = []
    for values, group in group_rows(rows, keys).items():
        entry = dict(zip(keys, values))
        entry["markets"] = len(group)
        for column, label in (
            ("opt", "OPT"),
            ("noinfo", "NOINFO"),
            ("value_of_information", "value of info"),
            ("monopoly_user", "monopoly (user)"),
            ("monopoly_share", "monopoly share"),
        ):
            entry[label] = mean_sem(r[column] for r in group)[0]
        table.append(entry)
    return table


EXPERIMENT = register(
    Experiment(
        name="value_of_information",
        description=(
            "Random markets: the value of information to users (OPT − NOINFO) and the share of it "
            "a monopolist provider passes on, against the number of states."
        ),
        params=Params,
        run=run,
        quick_grid={"n_states": [2, 3, 4, 5]},
        full_grid={"n_states": [2, 3, 4, 5, 6, 8], "n_actions": [2, 3, 4]},
        quick_seeds=5,
        full_seeds=50,
        figures=figures,
        summary=summary,
    )
)
