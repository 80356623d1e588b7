"""Ensemble fits (docs/model.md §11), each checked against a second, independent method."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

from pluralign import catalog
from pluralign.analysis.alignment import weak_alignment
from pluralign.analysis.ensembles import (
    coverage,
    coverage_from_columns,
    diversity_sizes,
    fit_ensemble,
    l1_fit_lp,
    loss_value,
    split_items,
)
from pluralign.data import market_table
from pluralign.lp import INF, LinearProgram, solve_lp

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def problems(draw, max_k=4):
    seed = draw(st.integers(0, 10_000))
    n = draw(st.integers(3, 12))
    k = draw(st.integers(1, max_k))
    rng = np.random.default_rng(seed)
    return rng.random((n, k)), rng.random(n)


# --------------------------------------------------------------------------- second methods


def linf_dense(S, t, variant):
    """L∞ fit as a dense LP in another form: columns [λ, c⁺, c⁻, e], all ≥ 0, rows ±(Sλ + c⁺ − c⁻ − t) ≤ e."""
    n, k = S.shape
    one = np.ones((n, 1))
    A = np.vstack([np.hstack([S, one, -one, -one]), np.hstack([-S, -one, one, -one])])
    b = np.concatenate([t, -t])
    rows = [A]
    lo, hi = [np.full(2 * n, -INF)], [b]
    if variant == "simplex":
        rows.append(np.concatenate([np.ones(k), [0, 0, 0]])[None])
        lo.append([1.0])
        hi.append([1.0])
    c = np.concatenate([np.zeros(k + 2), [1.0]])
    res = solve_lp(LinearProgram.build(c, np.vstack(rows), np.concatenate(lo), np.concatenate(hi)), backend="scipy")
    return res.objective


def l1_dense(S, t, variant):
    """L1 fit with split residuals: Sλ + c⁺ − c⁻ − e⁺ + e⁻ = t, minimize Σ(e⁺ + e⁻)/n."""
    n, k = S.shape
    one = np.ones((n, 1))
    A = np.hstack([S, one, -one, -np.eye(n), np.eye(n)])
    lo, hi = t, t
    if variant == "simplex":
        A = np.vstack([A, np.concatenate([np.ones(k), np.zeros(2 + 2 * n)])])
        lo, hi = np.append(t, 1.0), np.append(t, 1.0)
    c = np.concatenate([np.zeros(k + 2), np.full(2 * n, 1.0 / n)])
    return solve_lp(LinearProgram.build(c, A, lo, hi), backend="scipy").objective


def l2_simplex_brute(S, t):
    """Minimum MSE over the simplex by enumerating supports and solving each KKT system."""
    n, k = S.shape
    best = np.inf
    for size in range(1, k + 1):
        for T in itertools.combinations(range(k), size):
            X = np.hstack([S[:, T], np.ones((n, 1))])
            # minimize ‖Xβ − t‖² s.t. Σ_{i∈T} β_i = 1: KKT [[2XᵀX, a], [aᵀ, 0]]
            a = np.concatenate([np.ones(size), [0.0]])
            K = np.block([[2 * X.T @ X, a[:, None]], [a[None, :], np.zeros((1, 1))]])
            rhs = np.concatenate([2 * X.T @ t, [1.0]])
            sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
            beta = sol[:-1]
            if beta[:size].min() < -1e-12:
                continue
            best = min(best, float(np.mean((X @ beta - t) ** 2)))
    return best


# --------------------------------------------------------------------------- builders


def test_l1_fit_lp_matrix():
    lp = l1_fit_lp([[0.5], [1.0]], [0.2, 0.4])
    # columns [λ, c, e0, e1]
    assert np.array_equal(
        lp.A.toarray(), [[0.5, 1, -1, 0], [1, 1, 0, -1], [0.5, 1, 1, 0], [1, 1, 0, 1]]
    )
    assert np.array_equal(lp.c, [0, 0, 0.5, 0.5])
    assert np.array_equal(lp.col_lower, [0, -INF, 0, 0])
    assert np.array_equal(lp.row_upper, [0.2, 0.4, INF, INF])
    assert l1_fit_lp([[0.5], [1.0]], [0.2, 0.4], "simplex").num_rows == 5


def test_loss_value():
    r = [0.3, -0.4, 0.0]
    assert loss_value(r, "linf") == pytest.approx(0.4)
    assert loss_value(r, "l1") == pytest.approx(0.7 / 3)
    assert loss_value(r, "l2") == pytest.approx(np.sqrt(0.25 / 3))
    with pytest.raises(ValueError, match="loss"):
        loss_value(r, "huber")


# --------------------------------------------------------------------------- fits vs second methods


@SETTINGS
@given(problems(), st.sampled_from(["cone", "simplex"]))
def test_linf_against_independent_lp(problem, variant):
    S, t = problem
    fit = fit_ensemble(S, t, loss="linf", variant=variant)
    assert fit.error == pytest.approx(linf_dense(S, t, variant), abs=1e-8)
    assert fit.lower_bound == pytest.approx(fit.error, abs=1e-7)
    assert fit.verify(S, t).ok
    assert fit_ensemble(S, t, loss="linf", variant=variant, method="batched").error == pytest.approx(fit.error, abs=1e-8)


@SETTINGS
@given(problems(), st.sampled_from(["cone", "simplex"]))
def test_l1_against_independent_lp(problem, variant):
    S, t = problem
    fit = fit_ensemble(S, t, loss="l1", variant=variant)
    assert fit.error == pytest.approx(l1_dense(S, t, variant), abs=1e-8)


@SETTINGS
@given(problems())
def test_l2_cone_against_nnls(problem):
    S, t = problem
    fit = fit_ensemble(S, t, loss="l2")
    n = S.shape[0]
    x, rnorm = nnls(np.hstack([S, np.ones((n, 1)), -np.ones((n, 1))]), t)
    assert fit.error == pytest.approx(rnorm / np.sqrt(n), abs=1e-8)
    assert np.all(fit.weights >= 0)


@SETTINGS
@given(problems())
def test_l2_simplex_against_support_enumeration(problem):
    S, t = problem
    fit = fit_ensemble(S, t, loss="l2", variant="simplex")
    assert fit.weights.sum() == pytest.approx(1.0) and np.all(fit.weights >= 0)
    assert fit.error**2 == pytest.approx(l2_simplex_brute(S, t), abs=1e-9)
    assert fit.gap is not None and fit.gap <= 1e-10


@SETTINGS
@given(problems(), st.sampled_from(["linf", "l1", "l2"]))
def test_cone_fits_at_least_as_well_as_simplex(problem, loss):
    S, t = problem
    assert fit_ensemble(S, t, loss=loss).error <= fit_ensemble(S, t, loss=loss, variant="simplex").error + 1e-8


@pytest.mark.parametrize("loss", ["linf", "l1", "l2"])
@pytest.mark.parametrize("variant", ["cone", "simplex"])
def test_exact_mixture_is_recovered(loss, variant):
    rng = np.random.default_rng(0)
    S = rng.random((30, 4))
    lam = np.array([0.5, 0.0, 0.3, 0.2])
    fit = fit_ensemble(S, S @ lam + 0.05, loss=loss, variant=variant, models=["a", "b", "c", "d"])
    assert fit.error == pytest.approx(0.0, abs=1e-6)
    assert fit.weights == pytest.approx(lam, abs=1e-5) and fit.offset == pytest.approx(0.05, abs=1e-5)
    assert "a 0.5" in repr(fit) and set(fit.to_dict()["weights"]) == {"a", "b", "c", "d"}
    assert fit.verify(S, S @ lam + 0.05, tol=1e-6).ok
    assert not fit.verify(S, S @ lam + 0.2, tol=1e-6).ok


def test_fit_errors():
    with pytest.raises(ValueError, match="finite"):
        fit_ensemble([[np.nan]], [1.0])
    with pytest.raises(ValueError, match="items"):
        fit_ensemble([[1.0, 2.0]], [1.0, 2.0])


# --------------------------------------------------------------------------- coverage


def _groups_data(seed=0, K=5, groups=("a", "b", "c"), n=30):
    rng = np.random.default_rng(seed)
    S, t, g = [], [], []
    for name in groups:
        w = rng.exponential(size=K)
        s = rng.random((n, K))
        S.append(s)
        t.append(s @ w / w.sum() + rng.normal(0, 0.02, n))
        g += [name] * n
    return np.vstack(S), np.concatenate(t), g


def test_split_items():
    rng = np.random.default_rng(0)
    train, test = split_items(10, 0.3, rng)
    assert len(test) == 3 and sorted(np.concatenate([train, test]).tolist()) == list(range(10))
    assert len(split_items(1, 0.5, rng)[1]) == 0
    assert len(split_items(5, 0.0, rng)[1]) == 0
    with pytest.raises(ValueError, match="test_fraction"):
        split_items(5, 1.0, rng)


def test_diversity_sizes():
    assert diversity_sizes(3) == [1, 2, 3]
    sizes = diversity_sizes(100)
    assert sizes[0] == 1 and sizes[-1] == 100 and len(sizes) <= 9


@pytest.mark.parametrize("loss", ["linf", "l1", "l2"])
def test_coverage_report(loss):
    S, t, g = _groups_data()
    report = coverage(S, t, groups=g, loss=loss, seed=3, n_subsets=4)
    again = coverage(S, t, groups=g, loss=loss, seed=3, n_subsets=4)
    assert report.to_dict()["groups"] == again.to_dict()["groups"]
    assert [p.to_dict() for p in report.diversity] == [p.to_dict() for p in again.diversity]
    assert [grp.name for grp in report] == ["a", "b", "c"] and len(report) == 3
    for grp in report:
        assert grp.n_train == 21 and grp.n_test == 9
        assert grp.best_single in report.models
        # the ensemble contains every single model, so it fits the training items at least as well
        assert grp.train_error <= grp.best_single_train_error + 1e-8
        assert grp.train_error <= grp.average_train_error + 1e-8
    assert [p.k for p in report.diversity] == [1, 2, 3, 4, 5]
    assert report.diversity[-1].subsets == 1
    assert report.diversity[-1].mean_error == pytest.approx(report.mean_error)
    assert report.worst.error == max(grp.error for grp in report)
    d = report.to_dict()
    assert d["summary"]["held_out"] and d["summary"]["worst_group"] == report.worst.name
    other = coverage(S, t, groups=g, loss=loss, seed=4, n_subsets=4)
    assert other.to_dict()["groups"] != d["groups"]


def test_coverage_drops_missing_rows_and_runs_without_groups():
    S, t, _ = _groups_data(groups=("x",))
    S[0, 1] = np.nan
    t[1] = np.nan
    report = coverage(S, t, test_fraction=0.0, sizes=[1, 5], n_subsets=2)
    assert report.dropped == 2 and report["all"].n_train == 28 and report["all"].test_error is None
    assert report.to_dict()["summary"]["held_out"] is False


def test_coverage_of_a_market_table_is_weak_alignment():
    """L∞ on all (action, state) rows of each user, with no held-out items, is ε_j."""
    m = catalog.load("forecast")
    report = coverage_from_columns(
        market_table(m), "utility", group="user", exclude=["prior"], test_fraction=0.0, sizes=[2]
    )
    weak = weak_alignment(m)
    for j, user in enumerate(m.users):
        assert report[user].train_error == pytest.approx(weak.epsilon[j], abs=1e-8)


def test_coverage_from_columns_errors_name_the_column():
    cols = {"item": ["1", "2", "3"], "who": ["a", "a", "a"], "y": ["0.1", "0.2", "x"], "m": ["0.1", "0.3", "0.2"]}
    with pytest.raises(KeyError, match="'z' for --target"):
        coverage_from_columns(cols, "z")
    with pytest.raises(KeyError, match="--group"):
        coverage_from_columns(cols, "m", group="nope")
    with pytest.raises(ValueError, match="column 'y', row 3"):
        coverage_from_columns(cols, "y", models=["m"])
    with pytest.raises(KeyError, match="no model column 'q'"):
        coverage_from_columns(cols, "m", models=["q"])
    with pytest.raises(ValueError, match="no numeric model columns"):
        coverage_from_columns({"t": ["1", "2"], "name": ["a", "b"]}, "t")
    # 'who' is not numeric and 'item' is excluded: the only model is 'm'
    report = coverage_from_columns(
        {"item": ["1", "2", "3", "4"], "who": ["a"] * 4, "y": ["0.1", "0.2", "0.3", "0.5"], "m": ["0.1", "0.2", "0.3", "0.4"]},
        "y",
        exclude=["item"],
        test_fraction=0.25,
    )
    assert report.models == ("m",)
