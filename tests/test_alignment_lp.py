"""LP builders of pluralign.analysis.alignment against hand-written matrices, and the batched simplex."""

from __future__ import annotations

import numpy as np
import pytest

from pluralign.analysis import alignment as al
from pluralign.lp import INF, LinearProgram, block_diagonal, solve_lp, solve_standard_batch

M4 = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
U4 = np.array([0.1, 0.2, 0.3, 0.4])


# --------------------------------------------------------------------------- builders


def test_provider_matrix_stacks_action_major():
    U_j = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=float)  # [i, a, y]
    assert np.array_equal(al.provider_matrix(U_j), [[1, 5], [2, 6], [3, 7], [4, 8]])


def test_offset_matrix():
    assert np.array_equal(al.offset_matrix(2, 3, "scalar"), np.ones((6, 1)))
    assert np.array_equal(
        al.offset_matrix(2, 3, "state"),
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
    )
    with pytest.raises(ValueError, match="offset"):
        al.offset_matrix(2, 2, "action")


def test_fit_rows():
    A, lo, hi = al.fit_rows(M4, np.ones((4, 1)), U4)
    expected = [
        [1, 0, 1, -1], [0, 1, 1, -1], [0.5, 0.5, 1, -1], [1, 1, 1, -1],
        [1, 0, 1, 1], [0, 1, 1, 1], [0.5, 0.5, 1, 1], [1, 1, 1, 1],
    ]
    assert np.array_equal(A.toarray(), expected)
    assert np.array_equal(lo, [-INF] * 4 + U4.tolist())
    assert np.array_equal(hi, U4.tolist() + [INF] * 4)


def test_fit_rows_shape_error():
    with pytest.raises(ValueError, match="must agree"):
        al.fit_rows(M4, np.ones((3, 1)), U4)


def test_weight_sum_row_and_bounds():
    assert np.array_equal(al.weight_sum_row(2, 5).toarray(), [[1, 1, 0, 0, 0]])
    lo, hi = al.fit_bounds(2, 1, n_users=2)
    assert np.array_equal(lo, [0, 0, -INF, -INF, 0])
    assert np.all(np.isinf(hi))


def test_fit_lp_cone_and_simplex():
    lp = al.fit_lp(M4, np.ones((4, 1)), U4)
    assert lp.sense == "min" and np.array_equal(lp.c, [0, 0, 0, 1])
    assert lp.num_rows == 8 and lp.num_cols == 4
    lp = al.fit_lp(M4, np.ones((4, 1)), U4, "simplex")
    assert lp.num_rows == 9
    assert np.array_equal(lp.A.toarray()[-1], [1, 1, 0, 0]) and lp.row_lower[-1] == lp.row_upper[-1] == 1


def test_strong_fit_lp():
    M = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])  # two users, N = 2, k = 1
    u = np.array([[0.1, 0.2], [0.3, 0.4]])
    lp = al.strong_fit_lp(M, np.ones((2, 1)), u)
    expected = [
        [1, 1, 0, -1], [0, 1, 0, -1], [1, 1, 0, 1], [0, 1, 0, 1],
        [0, 0, 1, -1], [1, 0, 1, -1], [0, 0, 1, 1], [1, 0, 1, 1],
    ]
    assert np.array_equal(lp.A.toarray(), expected)
    assert np.array_equal(lp.row_lower, [-INF, -INF, 0.1, 0.2, -INF, -INF, 0.3, 0.4])
    assert np.array_equal(lp.row_upper, [0.1, 0.2, INF, INF, 0.3, 0.4, INF, INF])
    assert np.array_equal(lp.col_lower, [0, -INF, -INF, 0])
    assert np.array_equal(lp.c, [0, 0, 0, 1])


def test_dual_standard_form_cone():
    M = np.array([[2.0], [3.0]])
    u = np.array([[0.1, 0.7]])
    A, b, c, basis = al.dual_standard_form(M, np.ones((2, 1)), u)
    # columns [w+0 w+1 w-0 w-1 s s1]
    assert np.array_equal(A, [[2, 3, -2, -3, 1, 0], [1, 1, -1, -1, 0, 0], [1, 1, 1, 1, 0, 1]])
    assert np.array_equal(b, [0, 0, 1])
    assert np.array_equal(c, [[0.1, 0.7, -0.1, -0.7, 0, 0]])
    assert np.array_equal(basis, [[4, 0, 5]])


def test_dual_standard_form_simplex_state_and_batched():
    M = np.array([[[1.0], [0.0], [0.5], [0.25]]] * 2)  # B = 2, N = 4 (2 actions × 2 states), k = 1
    E = al.offset_matrix(2, 2, "state")
    u = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 1.0]])
    A, b, c, basis = al.dual_standard_form(M, E, u, "simplex")
    assert A.shape == (2, 4, 12)  # rows: k + q + 1; columns: 2N + k + 1 + 2
    assert np.array_equal(A[0, 0], [1, 0, 0.5, 0.25, -1, 0, -0.5, -0.25, 1, 0, -1, 1])
    assert np.array_equal(A[0, 1], [1, 0, 1, 0, -1, 0, -1, 0, 0, 0, 0, 0])
    assert np.array_equal(A[0, 2], [0, 1, 0, 1, 0, -1, 0, -1, 0, 0, 0, 0])
    assert np.array_equal(A[0, 3], [1] * 8 + [0, 1, 0, 0])
    assert np.array_equal(c[1], [0, 0, 1, 1, 0, 0, -1, -1, 0, 0, -1, 1])
    assert np.array_equal(basis, [[8, 0, 1, 9]] * 2)


def test_dual_from_row_duals_and_best_offsets():
    assert np.array_equal(al.dual_from_row_duals([1, 2, 3, 4], 2), [[4, 6]])
    assert np.array_equal(al.dual_from_row_duals([1, 2, 3, 4, 5, 6, 7, 8, 99], 2, 2), [[4, 6], [12, 14]])
    c, res = al.best_offsets([[0.1, 0.5, 0.3]], np.ones((3, 1)))
    assert np.allclose(c, [[-0.3]]) and np.allclose(res, [[-0.2, 0.2, 0.0]])
    c, res = al.best_offsets([[0.0, 1.0, 0.4, 0.6]], al.offset_matrix(2, 2, "state"))
    assert np.allclose(c, [[-0.2, -0.8]]) and np.allclose(res, [[-0.2, 0.2, 0.2, -0.2]])


def test_certificate_values():
    M = np.array([[1.0], [0.0]])
    u = np.array([[0.0, 1.0]])
    w = np.array([[-0.5, 0.5]])  # Mᵀw = -0.5 ≤ 0, Σw = 0, ‖w‖₁ = 1
    value, violation = al.certificate(w, M, np.ones((2, 1)), u)
    assert value[0] == pytest.approx(0.5) and violation[0] == 0
    value, violation = al.certificate(w, M, np.ones((2, 1)), u, "simplex")
    assert value[0] == pytest.approx(1.0)  # 0.5 − max(Mᵀw) = 0.5 + 0.5
    value, violation = al.certificate(-w, M, np.ones((2, 1)), u)
    assert violation[0] == pytest.approx(0.5)  # Mᵀw = 0.5 > 0


# --------------------------------------------------------------------------- the dual convention


def test_row_duals_give_the_certificate():
    """w = row_dual[upper] + row_dual[lower] is ∂ε/∂u (checked by finite differences) and certifies ε."""
    rng = np.random.default_rng(3)
    M, u, E = rng.random((6, 2)), rng.random(6), np.ones((6, 1))
    res = solve_lp(al.fit_lp(M, E, u))
    w = al.dual_from_row_duals(res.row_dual, 6)[0]
    assert w @ u == pytest.approx(res.objective, abs=1e-9)
    assert np.abs(w).sum() <= 1 + 1e-9 and (M.T @ w).max() <= 1e-9 and abs(w.sum()) <= 1e-9
    h = 1e-6
    for r in range(6):
        bumped = u.copy()
        bumped[r] += h
        slope = (solve_lp(al.fit_lp(M, E, bumped)).objective - res.objective) / h
        assert slope == pytest.approx(w[r], abs=1e-4)
    for backend in ("scipy",):
        other = solve_lp(al.fit_lp(M, E, u), backend=backend)
        w2 = al.dual_from_row_duals(other.row_dual, 6)[0]
        assert w2 @ u == pytest.approx(res.objective, abs=1e-9)


# --------------------------------------------------------------------------- batched simplex


def _slack_form(A_ub, b_ub):
    m, n = A_ub.shape
    return np.hstack([A_ub, np.eye(m)]), b_ub, np.tile(n + np.arange(m), 1)


@pytest.mark.parametrize("seed", range(5))
def test_standard_batch_matches_highs(seed):
    rng = np.random.default_rng(seed)
    m, n, B = 5, 7, 30
    A_ub = np.vstack([rng.random((m, n)), np.eye(n)])  # with x ≤ 1 rows: bounded
    b_ub = np.concatenate([rng.random(m) * n / 2, np.ones(n)])
    A, b, basis = _slack_form(A_ub, b_ub)
    c = np.hstack([rng.normal(size=(B, n)), np.zeros((B, A_ub.shape[0]))])
    res = solve_standard_batch(A, b, c, np.tile(basis, (B, 1)))
    assert res.optimal.all()
    for k in range(B):
        ref = solve_lp(LinearProgram.build(c[k, :n], A_ub, -INF, b_ub, sense="max"))
        assert res.objective[k] == pytest.approx(ref.objective, abs=1e-9)
        # the multipliers solve the dual: b·y = objective, Aᵀy ≥ c
        assert b @ res.y[k] == pytest.approx(ref.objective, abs=1e-9)
        assert (A.T @ res.y[k] - c[k]).min() >= -1e-9
    assert np.allclose(A @ res.x.T, b[:, None]) and res.x.min() >= 0


def test_standard_batch_with_per_program_matrices():
    rng = np.random.default_rng(7)
    B, m, n = 12, 3, 4
    blocks = [np.hstack([rng.random((m, n)), np.eye(m)]) for _ in range(B)]
    A = np.stack(blocks)
    b = np.ones(m)
    c = np.hstack([rng.random((B, n)), np.zeros((B, m))])
    res = solve_standard_batch(A, b, c, np.tile(n + np.arange(m), (B, 1)))
    for k in range(B):
        ref = solve_lp(LinearProgram.build(c[k, :n], blocks[k][:, :n], -INF, b, sense="max"))
        assert res.objective[k] == pytest.approx(ref.objective, abs=1e-9)


def test_standard_batch_unbounded_and_iteration_limit():
    A = np.array([[1.0, -1.0]])  # x − y = 0: maximize x is unbounded
    res = solve_standard_batch(A, [0.0], [[1.0, 0.0]], [[1]])
    assert res.status.tolist() == ["unbounded"]
    A, b, basis = _slack_form(np.eye(3), np.ones(3))
    res = solve_standard_batch(A, b, [[1, 1, 1, 0, 0, 0]], [basis], max_iter=1)
    assert res.status.tolist() == ["iteration_limit"]


def test_standard_batch_rejects_infeasible_start():
    with pytest.raises(ValueError, match="not feasible"):
        solve_standard_batch(np.array([[1.0, 1.0]]), [-1.0], [[1.0, 0.0]], [[0]])


def test_standard_batch_terminates_on_beale_cycling_example():
    """Beale's example cycles under the largest-coefficient rule; Bland's rule ends it (optimum 5/4)."""
    A = np.array(
        [
            [1, 0, 0, 0.25, -8, -1, 9],
            [0, 1, 0, 0.5, -12, -0.5, 3],
            [0, 0, 1, 0, 0, 1, 0],
        ]
    )
    c = np.array([[0, 0, 0, 0.75, -20, 0.5, -6]])
    for bland_after in (0, 3, None):
        res = solve_standard_batch(A, [0, 0, 1], c, [[0, 1, 2]], bland_after=bland_after)
        assert res.status[0] == "optimal"
        assert res.objective[0] == pytest.approx(1.25)
    ref = solve_lp(LinearProgram.build(c[0], A, [0, 0, 1], [0, 0, 1], sense="max"))
    assert ref.objective == pytest.approx(1.25)


def test_block_diagonal():
    a = LinearProgram.build([1, 1], [[1, 2]], [1], [INF])
    b = LinearProgram.build([2], [[1]], [3], [INF], offset=1.0)
    lp = block_diagonal([a, b])
    assert lp.A.toarray().tolist() == [[1, 2, 0], [0, 0, 1]]
    assert solve_lp(lp).objective == pytest.approx(0.5 + 6 + 1)
    with pytest.raises(ValueError, match="one sense"):
        block_diagonal([a, LinearProgram.build([1], [[1]], [0], [1], sense="max")])
