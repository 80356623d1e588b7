"""The LP module: both backends agree, duals follow the documented convention, models are reused."""

from __future__ import annotations

import numpy as np
import pytest

from pluralign.lp import INF, LinearProgram, LPError, LPModel, solve_lp


def small_lp(sense="min"):
    # min x + y  s.t. x + 2y >= 1, x - y <= 0.5, 0 <= x, y <= 3
    return LinearProgram.build(
        c=[1, 1], A=[[1, 2], [1, -1]], row_lower=[1, -INF], row_upper=[INF, 0.5], col_upper=3, sense=sense
    )


@pytest.mark.parametrize("backend", ["highs", "scipy"])
def test_objective_and_duals(backend):
    res = solve_lp(small_lp(), backend=backend)
    assert res.optimal and res.objective == pytest.approx(0.5)
    np.testing.assert_allclose(res.x, [0.0, 0.5], atol=1e-9)
    # raising the bound of row 0 by d raises the optimum by d/2
    np.testing.assert_allclose(res.row_dual, [0.5, 0.0], atol=1e-9)


@pytest.mark.parametrize("backend", ["highs", "scipy"])
def test_max_sense_and_dual_signs_agree(backend):
    lp = LinearProgram.build(c=[1, 2], A=[[1, 1]], row_lower=[-INF], row_upper=[1], sense="max")
    res = solve_lp(lp, backend=backend)
    assert res.objective == pytest.approx(2.0)
    np.testing.assert_allclose(res.row_dual, [2.0], atol=1e-9)


@pytest.mark.parametrize("backend", ["highs", "scipy"])
def test_infeasible_is_reported_not_raised(backend):
    lp = LinearProgram.build(c=[1], A=[[1]], row_lower=[2], row_upper=[INF], col_upper=1)
    res = solve_lp(lp, backend=backend)
    assert res.status == "infeasible" and not res.optimal
    with pytest.raises(LPError, match="infeasible"):
        res.require_optimal("toy")


def test_model_reuse_changes_costs_and_bounds():
    model = LPModel(small_lp())
    assert model.solve().objective == pytest.approx(0.5)
    model.set_costs([1, 3])  # now x is cheaper: x=1, y=0 is infeasible (x - y <= 0.5) -> x=2/3, y=1/6
    r = model.solve()
    assert r.objective == pytest.approx(2 / 3 + 3 / 6)
    model.set_row_bounds([0], 0.0, INF)
    assert model.solve().objective == pytest.approx(0.0)
    model.set_coefficients([1], [0], [2.0])
    model.set_col_bounds([1], 0.25, 3)
    assert model.solve().objective == pytest.approx(0.75)
    assert model.solves == 4


def test_bad_input():
    with pytest.raises(ValueError, match="columns"):
        LinearProgram.build(c=[1, 2, 3], A=[[1, 2]], row_lower=[0], row_upper=[1])
    with pytest.raises(ValueError, match="unknown LP backend"):
        solve_lp(small_lp(), backend="gurobi")


def test_mixed_integer_program_on_both_backends():
    # max x0 + x1 s.t. 2x0 + 2x1 ≤ 3, x integer in [0, 5]: the LP optimum 1.5 rounds down to 1
    lp = LinearProgram.build(c=[1, 1], A=[[2, 2]], row_lower=[-INF], row_upper=[3], col_upper=[5, 5], sense="max",
                             integrality=[1, 1])
    assert lp.is_mip
    for backend in ("highs", "scipy"):
        res = solve_lp(lp, backend=backend)
        assert res.optimal and res.objective == pytest.approx(1.0) and res.row_dual is None
    relaxed = LinearProgram.build(c=[1, 1], A=[[2, 2]], row_lower=[-INF], row_upper=[3], sense="max", integrality=[0, 0])
    assert not relaxed.is_mip and solve_lp(relaxed).objective == pytest.approx(1.5)


def test_kept_alive_model_retries_a_solve_it_cannot_settle(monkeypatch):
    """HiGHS sometimes ends a warm-started solve with status 'unknown': the model retries from scratch
    (a fresh HiGHS model, then scipy) instead of failing."""
    import pluralign.lp as lpmod

    model = LPModel(small_lp())
    real = lpmod._read_highs
    calls = {"n": 0}

    def flaky(h, backend, started, mip=False):
        calls["n"] += 1
        if calls["n"] == 1:
            return lpmod.LPResult("unknown", None, float("nan"), None, None, backend)
        return real(h, backend, started, mip)

    monkeypatch.setattr(lpmod, "_read_highs", flaky)
    res = model.solve()
    assert res.optimal and res.objective == pytest.approx(solve_lp(small_lp(), backend="scipy").objective)
    assert model.retries == 1
    model.set_costs([2.0, 1.0])  # the retry used the model's current data, and later solves still work
    assert model.solve().objective == pytest.approx(solve_lp(LinearProgram.build(
        c=[2, 1], A=[[1, 2], [1, -1]], row_lower=[1, -INF], row_upper=[INF, 0.5], col_upper=3)).objective)


def test_robust_solve_rechecks_an_infeasible_answer():
    """A feasible persuasion LP (a user kind's, in units of her utility range) that HiGHS 1.16's
    presolve, with feasibility tolerances of 1e-9, calls infeasible: solve_robust re-solves without
    presolve. (Found by the oracle tests: trusted, it understated a best response's supremum.)"""
    from pluralign.analysis.persuasion import build_persuasion_lp
    from pluralign.lp import solve_robust

    P = np.diag([0.22182105, 0.37351032, 0.40466864])
    u = np.array([[0.4398748739076642, 0.4695579693765638, 0.05647409340340748],
                  [0.21989731180732774, 0.9133887815343612, 0.16956611717091685]])
    u = (u - u.min()) / (u.max() - u.min())
    U = np.array([[0.13675296486016575, 0.3748235933169043, 0.7819360685328178],
                  [0.9173961807155572, 0.6011614844806747, 0.45260694554026915]])
    lp = build_persuasion_lp(P, u, U, participation=0.46922054892522674, margin=-1e-9)
    res = solve_robust(lp)
    assert res.optimal and res.objective == pytest.approx(solve_lp(lp, backend="scipy").objective, abs=1e-9)
