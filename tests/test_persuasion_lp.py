"""The persuasion LP builders, each against hand-written matrices (docs/model.md §6, §8)."""

from __future__ import annotations

import numpy as np

from pluralign.analysis.persuasion import (
    build_persuasion_lp,
    obedience_rows,
    objective_coefficients,
    simplex_rows,
    solve_persuasion,
    user_value_row,
)

P = np.array([[0.7, 0.0], [0.0, 0.3]])  # prosecutor: x = y, prior (0.7, 0.3)
u = np.array([[1.0, 0.0], [0.0, 1.0]])  # judge: acquit/convict x innocent/guilty
U = np.array([[0.0, 0.0], [1.0, 1.0]])  # prosecutor wants conviction


def test_objective_coefficients():
    # variables ordered (x0,a0), (x0,a1), (x1,a0), (x1,a1)
    np.testing.assert_allclose(objective_coefficients(P, U), [0, 0.7, 0, 0.3])
    np.testing.assert_allclose(user_value_row(P, u), [0.7, 0, 0, 0.3])


def test_simplex_rows():
    np.testing.assert_array_equal(simplex_rows(2, 3).toarray(), [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]])


def test_obedience_rows():
    A, pairs = obedience_rows(P, u)
    assert pairs == [(0, 1), (1, 0)]
    # (acquit over convict): sigma(x0,acquit)*0.7 - sigma(x1,acquit)*0.3 >= 0
    np.testing.assert_allclose(A.toarray(), [[0.7, 0, -0.3, 0], [0, -0.7, 0, 0.3]])
    A2, _ = obedience_rows(P, u, margin=0.1)
    # each coefficient loses margin * P(x): P(x0) = 0.7, P(x1) = 0.3
    np.testing.assert_allclose(A2.toarray(), [[0.63, 0, -0.33, 0], [0, -0.77, 0, 0.27]])


def test_full_lp_rows_and_bounds():
    lp = build_persuasion_lp(P, u, U, participation=0.8)
    assert lp.num_rows == 2 + 2 + 1 and lp.sense == "max"
    np.testing.assert_allclose(lp.A.toarray()[-1], [0.7, 0, 0, 0.3])
    np.testing.assert_allclose(lp.row_lower, [1, 1, 0, 0, 0.8])


def test_participation_binds():
    # the judge demands 0.8 > 0.7: the prosecutor must reveal more; conviction drops to 0.5
    r = solve_persuasion(P, u, U, participation=0.8)
    assert r.feasible
    assert abs(r.user_utility - 0.8) < 1e-9 and abs(r.provider_utility - 0.5) < 1e-9
    assert not solve_persuasion(P, u, U, participation=1.01).feasible
