"""The optimal public deviation over vertex posteriors, checked against an independent brute force.

The brute force below is MODEL.md §8's exact anonymous method written from scratch: for every
attracted set T, one LP over joint recommendation profiles (one action per attracted kind),
with obedience, participation and "does not prefer" (epigraph variables), solved with
``scipy.optimize.linprog`` directly; the best T wins.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from pluralign.analysis.responses.vertex_milp import (
    FORMULATIONS,
    deviation_vertices,
    rebuild_scheme,
    vertex_deviation,
)

INF = np.inf


# --------------------------------------------------------------------------- brute force


def brute_force_T(Px, g_user, g_prov, mass, attract, leave, leave_payoff, T):
    """The optimal value for attracted set ``T`` (a tuple of kinds), or -inf if infeasible."""
    K, n_a, n_x = g_user.shape
    T = list(T)
    N = [k for k in range(K) if k not in T]
    if any(attract[k] == INF for k in T) or any(leave[k] == -INF for k in N):
        return -INF
    S = list(itertools.product(range(n_a), repeat=len(T)))
    n_s = len(S)
    n_sig = n_x * n_s
    n_col = n_sig + len(N) * n_s

    def col(x, s):
        return x * n_s + s

    def tcol(i, s):
        return n_sig + i * n_s + s

    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    c = np.zeros(n_col)
    for x in range(n_x):  # σ(x, ·) is a distribution
        r = np.zeros(n_col)
        r[[col(x, s) for s in range(n_s)]] = 1
        A_eq.append(r)
        b_eq.append(1.0)
    for i, k in enumerate(T):
        part = np.zeros(n_col)
        for s, prof in enumerate(S):
            a = prof[i]
            for b in range(n_a):  # obedience: following a is (weakly) best at signal s
                if b != a:
                    r = np.zeros(n_col)
                    for x in range(n_x):
                        r[col(x, s)] = -Px[x] * (g_user[k, a, x] - g_user[k, b, x])
                    A_ub.append(r)
                    b_ub.append(0.0)
            for x in range(n_x):
                part[col(x, s)] -= Px[x] * g_user[k, a, x]
                c[col(x, s)] += mass[k] * Px[x] * g_prov[k, a, x]
        if np.isfinite(attract[k]):  # participation
            A_ub.append(part)
            b_ub.append(-attract[k])
    for i, k in enumerate(N):  # t_{k,s} ≥ value of each action at s; Σ_s t_{k,s} ≤ leave_k
        for s in range(n_s):
            for a in range(n_a):
                r = np.zeros(n_col)
                r[tcol(i, s)] = -1
                for x in range(n_x):
                    r[col(x, s)] = Px[x] * g_user[k, a, x]
                A_ub.append(r)
                b_ub.append(0.0)
        if np.isfinite(leave[k]):
            r = np.zeros(n_col)
            r[[tcol(i, s) for s in range(n_s)]] = 1
            A_ub.append(r)
            b_ub.append(leave[k])
    bounds = [(0, None)] * n_sig + [(None, None)] * (len(N) * n_s)
    res = linprog(
        -c,
        A_ub=np.array(A_ub) if A_ub else None,
        b_ub=np.array(b_ub) if b_ub else None,
        A_eq=np.array(A_eq),
        b_eq=np.array(b_eq),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        return -INF
    return -res.fun + sum(mass[k] * leave_payoff[k] for k in N)


def brute_force(Px, g_user, g_prov, mass, attract, leave, leave_payoff):
    K = g_user.shape[0]
    return max(
        brute_force_T(Px, g_user, g_prov, mass, attract, leave, leave_payoff, T)
        for r in range(K + 1)
        for T in itertools.combinations(range(K), r)
    )


def random_instance(rng, *, max_kinds=3, max_x=3, max_a=3):
    """Small seeded instances; half on the grid {0, 0.5, 1} with duplicated kinds (tie-heavy)."""
    K = int(rng.integers(1, max_kinds + 1))
    n_x = int(rng.integers(1, max_x + 1))
    n_a = int(rng.integers(1, max_a + 1))
    grid = rng.random() < 0.5
    if grid:
        g_user = rng.integers(0, 3, size=(K, n_a, n_x)) / 2
        g_prov = rng.integers(0, 3, size=(K, n_a, n_x)) / 2
    else:
        g_user = rng.random((K, n_a, n_x))
        g_prov = rng.random((K, n_a, n_x))
    if K > 1 and rng.random() < 0.3:  # a duplicated kind
        g_user[1] = g_user[0]
        if rng.random() < 0.5:
            g_prov[1] = g_prov[0]
    Px = rng.dirichlet(np.ones(n_x))
    if grid:
        Px = np.round(Px * 4) / 4
        Px = Px / Px.sum() if Px.sum() > 0 else np.full(n_x, 1 / n_x)
    mass = rng.dirichlet(np.ones(K))
    VLO = (g_user @ Px).max(axis=1)
    VHI = g_user.max(axis=1) @ Px
    attract, leave = np.empty(K), np.empty(K)
    for k in range(K):
        r = rng.random()
        attract[k] = (
            -INF if r < 0.15 else INF if r < 0.2 else VHI[k] if r < 0.3 else VHI[k] + 0.01 if r < 0.35
            else VLO[k] + rng.random() * (VHI[k] - VLO[k])
        )
        r = rng.random()
        leave[k] = (
            INF if r < 0.15 else -INF if r < 0.2 else VLO[k] if r < 0.3
            else attract[k] if r < 0.6 and np.isfinite(attract[k])
            else VLO[k] + rng.random() * (VHI[k] - VLO[k])
        )
    leave_payoff = rng.integers(0, 3, K) / 2 if grid else rng.random(K)
    return Px, g_user, g_prov, mass, attract, leave, leave_payoff


def agree(a, b, tol=1e-7):
    return (a == b) or abs(a - b) <= tol


# --------------------------------------------------------------------------- hand-checked


def prosecutor():
    Px = np.array([0.7, 0.3])
    g_user = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # acquit, convict
    g_prov = np.array([[[0.0, 0.0], [1.0, 1.0]]])
    return Px, g_user, g_prov


def test_prosecutor_persuasion():
    Px, gu, gp = prosecutor()
    r = vertex_deviation(Px, gu, gp, [1.0], [-INF], [INF], [0.0])
    assert r.status == "optimal" and abs(r.bound - 0.6) < 1e-9
    assert r.attracted.tolist() == [True]
    assert np.allclose(r.values, [0.7]) and np.allclose(r.payoffs, [0.6])
    assert np.allclose(r.weights @ r.vertices, Px)


def test_prosecutor_with_participation_and_leaving():
    # weight a on the posterior (1/2, 1/2): the judge's value is 1 − a/2, conviction 0.3 + a/2
    Px, gu, gp = prosecutor()
    r = vertex_deviation(Px, gu, gp, [1.0], [0.8], [INF], [0.0])
    assert abs(r.bound - 0.5) < 1e-9 and r.attracted.tolist() == [True]
    # she must be attracted with value ≥ 0.9 (conviction 0.4) or left with value ≤ 0.9
    r = vertex_deviation(Px, gu, gp, [1.0], [0.9], [0.9], [0.45])
    assert abs(r.bound - 0.45) < 1e-9 and r.attracted.tolist() == [False]
    r = vertex_deviation(Px, gu, gp, [1.0], [0.9], [0.9], [0.35])
    assert abs(r.bound - 0.4) < 1e-9 and r.attracted.tolist() == [True]
    # fixing the attracted set makes it one LP
    r = vertex_deviation(Px, gu, gp, [1.0], [0.9], [0.9], [0.45], attracted=[True])
    assert abs(r.bound - 0.4) < 1e-9 and not r.milp and r.lp_solves == 1


def test_infeasible():
    Px, gu, gp = prosecutor()
    r = vertex_deviation(Px, gu, gp, [1.0], [INF], [-INF], [0.0])  # must and cannot be attracted
    assert r.status == "infeasible" and r.bound == -INF
    r = vertex_deviation(Px, gu, gp, [1.0], [1.1], [0.5], [0.0])  # value > 1 impossible, ≤ 0.5 too
    assert r.status == "infeasible"
    with pytest.raises(ValueError):
        rebuild_scheme(r)


def test_one_observation():
    r = vertex_deviation([1.0], [[[0.2], [0.7]]], [[[1.0], [0.0]]], [1.0], [-INF], [INF], [0.0])
    assert r.vertices.tolist() == [[1.0]] and abs(r.bound - 0.0) < 1e-12  # the user takes action 1


def test_zero_probability_observation_is_dropped():
    rng = np.random.default_rng(5)
    Px, gu, gp, mass, att, lea, L = random_instance(rng, max_x=2)
    while Px.size != 2:
        Px, gu, gp, mass, att, lea, L = random_instance(rng, max_x=2)
    Px3 = np.array([Px[0], 0.0, Px[1]])
    ext = lambda g: np.stack([g[:, :, 0], rng.random(g.shape[:2]), g[:, :, 1]], axis=2)  # noqa: E731
    a = vertex_deviation(Px, gu, gp, mass, att, lea, L)
    b = vertex_deviation(Px3, ext(gu), ext(gp), mass, att, lea, L)
    assert agree(a.bound, b.bound, 1e-9)
    if b.optimal:
        assert np.all(b.vertices[:, 1] == 0)
        sigma = rebuild_scheme(b).sigma
        assert np.allclose(sigma.sum(axis=1), 1)


def test_identical_kinds_merged_and_reported_per_kind():
    rng = np.random.default_rng(11)
    Px, gu, gp, mass, att, lea, L = random_instance(rng, max_kinds=2, max_x=3, max_a=3)
    K = gu.shape[0]
    rep = np.repeat(np.arange(K), 3)
    a = vertex_deviation(Px, gu, gp, mass, att, lea, L)
    b = vertex_deviation(Px, gu[rep], gp[rep], mass[rep] / 3, att[rep], lea[rep], L[rep])
    assert agree(a.bound, b.bound, 1e-9)
    assert b.attracted.shape == (3 * K,) and np.array_equal(b.attracted, a.attracted[rep])


def test_input_checks():
    Px, gu, gp = prosecutor()
    with pytest.raises(ValueError):
        vertex_deviation([0.5, 0.5, 0.0], gu, gp, [1.0], [0], [0], [0])
    with pytest.raises(ValueError):
        vertex_deviation(Px, gu, gp, [0.0], [0], [0], [0])
    with pytest.raises(ValueError):
        vertex_deviation(Px, gu, gp, [1.0], [0], [0], [INF])
    with pytest.raises(ValueError):
        vertex_deviation(Px, gu, gp, [1.0], [0], [0], [0], formulation="nope")


# --------------------------------------------------------------------------- against brute force


def check_against_brute_force(seeds, **kwargs):
    failures = []
    for seed in seeds:
        inst = random_instance(np.random.default_rng(seed))
        expected = brute_force(*inst)
        got = vertex_deviation(*inst, **kwargs)
        if not agree(expected, got.bound):
            failures.append((seed, expected, got.bound))
        if np.isfinite(expected) != got.optimal:
            failures.append((seed, "status", got.status))
    assert not failures, failures


def test_matches_brute_force_on_200_instances():
    check_against_brute_force(range(200))


@pytest.mark.parametrize("formulation", [f for f in FORMULATIONS if f != "cells"])
def test_every_formulation_matches_brute_force(formulation):
    check_against_brute_force(range(200, 220), formulation=formulation)


def test_full_arrangement_gives_the_same_bound():
    check_against_brute_force(range(240, 260), prune=False)


def test_scipy_backend():
    check_against_brute_force(range(280, 300), backend="scipy")


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PLURALIGN_SLOW"), reason="2,000 more instances (about a minute): set PLURALIGN_SLOW=1")
def test_matches_brute_force_sweep():
    check_against_brute_force(range(1000, 3000))


def test_fixed_attracted_set_is_the_brute_force_lp():
    for seed in range(300, 340):
        inst = random_instance(np.random.default_rng(seed))
        K = inst[1].shape[0]
        T = np.random.default_rng(seed).random(K) < 0.5
        expected = brute_force_T(*inst, tuple(np.flatnonzero(T)))
        got = vertex_deviation(*inst, attracted=T)
        assert agree(expected, got.bound), (seed, expected, got.bound)
        assert not got.milp


# --------------------------------------------------------------------------- rebuilt scheme


def evaluate(sigma, rec, Px, g_user, g_prov, mass, attracted, leave_payoff, tol=1e-7):
    """Each kind's value of ``sigma`` and the provider's payoff when attracted kinds follow ``rec``."""
    W = Px[:, None] * sigma  # w_s(x)
    u = np.einsum("kax,xs->ksa", g_user, W)  # [k, s, a]
    values = u.max(axis=2).sum(axis=1)
    total = 0.0
    for k in range(g_user.shape[0]):
        if attracted[k]:
            r = rec[:, k]
            assert np.all(r >= 0)
            chosen = u[k, np.arange(sigma.shape[1]), r]
            assert np.all(chosen >= u[k].max(axis=1) - tol)  # obedient
            total += mass[k] * np.einsum("xs,xs->", W, g_prov[k][r].T)
        else:
            assert np.all(rec[:, k] == -1)
            total += mass[k] * leave_payoff[k]
    return values, total


@pytest.mark.parametrize("seed", range(400, 440))
def test_rebuilt_scheme_reproduces_the_claims(seed):
    inst = random_instance(np.random.default_rng(seed))
    Px, gu, gp, mass, att, lea, L = inst
    r = vertex_deviation(*inst)
    if not r.optimal:
        return
    sch = r.scheme()
    assert sch.sigma.shape == (Px.size, r.weights.size)
    assert np.all(sch.sigma >= 0) and np.allclose(sch.sigma.sum(axis=1), 1)
    values, total = evaluate(sch.sigma, sch.recommendations, Px, gu, gp, mass, r.attracted, L)
    assert np.allclose(values, r.values, atol=1e-9)
    assert abs(total - r.bound) < 1e-9
    assert np.all(values[r.attracted] >= att[r.attracted] - 1e-7)
    assert np.all(values[~r.attracted] <= lea[~r.attracted] + 1e-7)
    assert r.weights.size <= Px.size + gu.shape[0]  # a basic solution


# --------------------------------------------------------------------------- properties


instances = st.integers(0, 2**31 - 1).map(lambda s: random_instance(np.random.default_rng(s)))


@settings(max_examples=40, deadline=None)
@given(inst=instances, k=st.integers(0, 2), rise=st.floats(0.0, 0.5))
def test_bound_does_not_increase_when_attract_rises(inst, k, rise):
    Px, gu, gp, mass, att, lea, L = inst
    k = k % gu.shape[0]
    a = vertex_deviation(*inst)
    att2 = att.copy()
    att2[k] = att2[k] + rise if np.isfinite(att2[k]) else att2[k]
    b = vertex_deviation(Px, gu, gp, mass, att2, lea, L)
    assert b.bound <= a.bound + 1e-9


@settings(max_examples=40, deadline=None)
@given(inst=instances)
def test_attract_everyone_is_public_persuasion(inst):
    Px, gu, gp, mass, _, _, _ = inst
    K = gu.shape[0]
    r = vertex_deviation(Px, gu, gp, mass, np.full(K, -INF), np.full(K, INF), np.full(K, -100.0))
    assert r.attracted.all()
    expected = brute_force_T(Px, gu, gp, mass, np.full(K, -INF), np.full(K, INF), np.zeros(K), tuple(range(K)))
    assert agree(expected, r.bound)


@settings(max_examples=30, deadline=None)
@given(inst=instances, seed=st.integers(0, 1000))
def test_permuting_kinds_changes_nothing(inst, seed):
    Px, gu, gp, mass, att, lea, L = inst
    p = np.random.default_rng(seed).permutation(gu.shape[0])
    a = vertex_deviation(*inst)
    b = vertex_deviation(Px, gu[p], gp[p], mass[p], att[p], lea[p], L[p])
    assert agree(a.bound, b.bound, 1e-8)


@settings(max_examples=30, deadline=None)
@given(inst=instances)
def test_pruned_vertices_are_vertices_of_the_full_arrangement(inst):
    gu = inst[1][:, :, inst[0] > 0]
    V = deviation_vertices(gu)
    F = deviation_vertices(gu, prune=False)
    assert all(np.min(np.abs(F - v).max(axis=1)) < 1e-9 for v in V)
