"""The scientific experiments: every registered one runs, is deterministic and plots; and their claims."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pluralign.workflows.experiments import registry

SCIENCE = ["best_ai_selection", "diversity_curve", "pluralistic_coverage", "personalization_vs_anonymity"]


def quick_rows(name: str, seeds=(0, 1)) -> list[dict]:
    exp = registry.get(name)
    rows = []
    for point in registry.product(exp.grid(quick=True))[:4]:
        params = exp.params(**point)
        for seed in seeds:
            rows.append({**params.model_dump(), "seed": seed, **exp.run(params, seed)})
    return rows


@pytest.mark.parametrize("name", [n for n in SCIENCE if n in registry.names()] + ["value_of_information"])
def test_experiment_runs_deterministically_and_plots(name):
    exp = registry.get(name)
    params = exp.params(**registry.product(exp.grid(quick=True))[0])
    a, b = exp.run(params, 3), exp.run(params, 3)
    assert a == b
    json.dumps(a)  # a flat, JSON-able row
    rows = quick_rows(name)
    figs = exp.figures(rows)
    assert figs and all(hasattr(fig, "savefig") for _, fig in figs)
    assert exp.summary(rows)


def test_all_four_issue_experiments_are_registered():
    assert set(SCIENCE) <= set(registry.names())


def test_best_ai_user_in_hull_gets_opt_in_every_equilibrium():
    from pluralign.workflows.experiments.best_ai_selection import Params, run

    for seed in range(10):
        row = run(Params(mix=0.0), seed)
        assert row["hull_distance"] < 1e-7
        assert row["worst_equilibrium_gap"] < 1e-9 and row["gap"] < 1e-9
        assert row["converged"] and row["verified"]


def test_best_ai_unrelated_users_sometimes_lose():
    from pluralign.workflows.experiments.best_ai_selection import Params, run

    gaps = [run(Params(mix=1.0), seed)["worst_equilibrium_gap"] for seed in range(30)]
    assert max(gaps) > 0.01


def test_diversity_curve_is_nested_and_non_increasing():
    from pluralign.workflows.experiments.diversity_curve import Params, run

    for source in ("synthetic", "anes"):
        rows = [run(Params(source=source, n_providers=k), seed=1) for k in range(1, 10)]
        for small, big in zip(rows, rows[1:]):
            assert set(small["providers"].split(",")) <= set(big["providers"].split(","))
            assert big["max_epsilon"] <= small["max_epsilon"] + 1e-9
            assert big["mean_epsilon"] <= small["mean_epsilon"] + 1e-9
    # with the whole pool, synthetic users are aligned up to the construction's noise
    assert run(Params(source="synthetic", n_providers=9, noise=0.02), seed=1)["max_epsilon"] <= 0.02 + 1e-7


def test_pluralistic_coverage_by_hand():
    from pluralign.workflows.experiments.pluralistic_coverage import Params, run

    every = run(Params(advisers="every_position"), 0)
    assert every["covered_mass"] == pytest.approx(1.0) and every["uncovered"] == ""
    # an ideologue at θ covers exactly the voters at θ (u_θ = U_θ); partisans' wishes ignore the state
    left_right = run(Params(advisers="left_right"), 0)
    assert left_right["eps:liberal"] < 1e-9 and left_right["eps:conservative"] < 1e-9
    assert left_right["eps:moderate"] > 0.05
    partisans = run(Params(advisers="partisans"), 0)
    assert partisans["covered_mass"] == 0.0
    # linear utilities 1 - |θ - pos|/6 differ from the nearest ideologue's by at most 1/6
    assert left_right["max_epsilon"] <= 1 / 6 + 1e-9
    assert np.isclose(left_right["eps:extremely_liberal"], 1 / 6)
