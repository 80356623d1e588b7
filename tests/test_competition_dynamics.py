"""Experiment ``competition_dynamics``: registered, rows with paths, a figure, a summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from pluralign.workflows.experiments import registry
from pluralign.workflows.experiments.competition_dynamics import Params, figures, run, summary


def test_registered_with_a_quick_grid():
    exp = registry.get("competition_dynamics")
    assert "competition_dynamics" in registry.names()
    grid = exp.grid(quick=True)
    assert set(grid["market"]) == {"prosecutor", "biased_pair", "forecast", "match_mismatch", "aligned"}
    assert set(grid["regime"]) == {"personalized", "anonymous"}
    with pytest.raises(ValueError):
        Params(market="nowhere")
    with pytest.raises(ValueError):
        Params(regime="mixed")


@pytest.fixture(scope="module")
def rows():
    out = []
    for market, regime in [("prosecutor", "personalized"), ("forecast", "anonymous"), ("match_mismatch", "anonymous"),
                           ("aligned", "personalized")]:
        row = run(Params(market=market, regime=regime), seed=0)
        json.dumps(row, allow_nan=False)
        out.append({"market": market, "regime": regime, "seed": 0, **row})
    return out


def test_rows_carry_the_path(rows):
    pros, fore, silent, aligned = rows
    for row in rows:
        n = len(row["path_kind"])
        assert row["status"] == "converged" and row["verified"]
        assert len(row["path_move"]) == len(row["path_equivalent"]) == len(row["path_share"]) == n
        assert len(row["path_payoffs"]) == n and all(len(p) == len(row["providers"]) for p in row["path_payoffs"])
        assert row["path_kind"][0] == "start" and row["path_move"][-1] == row["moves"]
        assert row["path_equivalent"][-1] >= row["path_move"][-1]
        assert np.all(np.diff(row["path_equivalent"]) >= 0)
    assert pros["jumps"] >= 1 and pros["final_share"] == pytest.approx(1.0)  # docs/model.md §8.4
    assert pros["path_equivalent"][-1] > 100_000  # the jump stands for the δ-ladder's moves
    assert fore["final_share"] == pytest.approx(1.0)
    assert silent["final_share"] == pytest.approx(0.0)  # docs/model.md §9 B: silence is an anonymous equilibrium
    assert 0.0 <= aligned["final_share"] <= 1.0 + 1e-9


def test_figure_and_summary(rows):
    ((name, fig),) = figures(rows)
    assert name == "competition_dynamics" and isinstance(fig, Figure)
    assert len(fig.axes) == 4  # users and providers, per regime
    table = summary(rows)
    assert {r["market"] for r in table} == {"prosecutor", "forecast", "match_mismatch", "aligned"}
    assert all(r["converged"] == 1.0 and r["verified"] == 1.0 for r in table)
    assert figures([]) == []
