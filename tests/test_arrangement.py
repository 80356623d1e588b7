"""Vertices of hyperplane arrangements in the simplex: hand-checked cases and independent brute force."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluralign.analysis.responses.arrangement import (
    arrangement_counts,
    arrangement_vertices,
    indifference_normals,
    merge_close,
    prepare_hyperplanes,
)


def as_set(V, digits=9):
    return {tuple(np.round(v, digits) + 0.0) for v in np.asarray(V)}


def dedupe(points, tol=1e-7):
    """O(n²) greedy merge: an independent stand-in for the module's k-d tree merge."""
    out = []
    for p in points:
        if not any(np.max(np.abs(p - q)) <= tol for q in out):
            out.append(p)
    return np.array(out)


def same_points(A, B, tol=1e-7):
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape:
        return False
    return all(np.min(np.max(np.abs(B - a), axis=1)) <= tol for a in A) and all(
        np.min(np.max(np.abs(A - b), axis=1)) <= tol for b in B
    )


# --------------------------------------------------------------------------- hand-checked


def test_one_observation_is_one_point():
    assert arrangement_vertices(np.zeros((0, 1))).tolist() == [[1.0]]
    assert arrangement_vertices(np.array([[2.0]])).tolist() == [[1.0]]


def test_two_observations_breakpoints_sorted_with_endpoints():
    # h·q = 0 with q = (1 − t, t): t = h0 / (h0 − h1)
    H = np.array([[1.0, -3.0], [1.0, -1.0], [-2.0, 1.0]])  # t = 1/4, 1/2, 2/3
    V = arrangement_vertices(H)
    t = V[:, 1]
    assert np.allclose(V.sum(axis=1), 1)
    assert np.allclose(sorted(t), [0, 0.25, 0.5, 2 / 3, 1])
    assert np.all(np.diff(V[:, 0]) > 0)  # lexicographic order: q0 increasing


def test_two_observations_drop_missing_zero_and_duplicate_hyperplanes():
    H = np.array(
        [
            [1.0, 2.0],  # h·q > 0 on the whole segment: misses it
            [-1.0, -0.5],  # < 0 everywhere: misses
            [0.0, 0.0],  # zero normal
            [1.0, -3.0],
            [2.0, -6.0],  # the same hyperplane, scaled
            [-1.0, 3.0],  # the same hyperplane, sign flipped
            [1.0 + 1e-15, -3.0],  # the same up to rounding
        ]
    )
    assert as_set(arrangement_vertices(H)) == {(0.0, 1.0), (0.75, 0.25), (1.0, 0.0)}
    hs = prepare_hyperplanes(H)
    assert len(hs) == 1
    assert hs.label.tolist() == [-1, -1, -1, 0, 0, 0, 0]


def test_hyperplane_through_a_corner_adds_nothing():
    # q1 = 0 is the facet itself; q0 − 0·q1 = 0 passes through the corner (0, 1)
    assert as_set(arrangement_vertices(np.array([[0.0, 1.0], [1.0, 0.0]]))) == {(0.0, 1.0), (1.0, 0.0)}


def test_triangle_two_lines_crossing_inside():
    # q0 = q1 and q1 = q2 cross at the centre; they meet the edges at their midpoints.
    V = arrangement_vertices(np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]]))
    expected = {
        (1.0, 0.0, 0.0),
        (0.0, 1.0, 0.0),
        (0.0, 0.0, 1.0),
        (0.5, 0.5, 0.0),
        (0.0, 0.5, 0.5),
        (round(1 / 3, 9), round(1 / 3, 9), round(1 / 3, 9)),
    }
    assert as_set(V) == expected


def test_triangle_three_lines_through_one_point_give_one_vertex():
    H = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, -1.0]])
    V = arrangement_vertices(H)
    centre = np.isclose(V, 1 / 3).all(axis=1)
    assert centre.sum() == 1
    assert len(V) == 3 + 3 + 1  # corners, three edge midpoints, the centre


def test_triangle_lines_missing_the_simplex():
    H = np.array([[1.0, 1.0, 2.0], [-1.0, -3.0, -0.5], [1.0, 0.0, 0.0]])  # q0 = 0 is an edge
    assert as_set(arrangement_vertices(H)) == as_set(np.eye(3))


def test_parallel_lines_meet_only_the_edges():
    # q2 = 0.2 and q2 = 0.4 are parallel inside the triangle (they meet Σq = 1 at infinity)
    H = np.array([[0.2, 0.2, -0.8], [0.4, 0.4, -0.6]])
    expected = as_set(np.eye(3)) | {(0.8, 0.0, 0.2), (0.0, 0.8, 0.2), (0.6, 0.0, 0.4), (0.0, 0.6, 0.4)}
    assert as_set(arrangement_vertices(H)) == expected


def test_duplicate_vertices_are_merged_across_grid_lines():
    # two points 1e-12 apart on either side of a multiple of the merge radius
    r = 1e-9
    P = np.array([[0.5 + 3 * r - 1e-12, 0.5], [0.5 + 3 * r + 1e-12, 0.5], [0.2, 0.8]])
    reps, label = merge_close(P, r)
    assert len(reps) == 2 and label.tolist() == [0, 0, 1]


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(3)
    H = rng.normal(size=(12, 3))
    from pluralign.analysis.responses.arrangement import enumerate_vertices

    hs = prepare_hyperplanes(H)
    a = enumerate_vertices(hs).vertices
    b = enumerate_vertices(hs, chunk=7).vertices
    assert np.array_equal(a, b)


# --------------------------------------------------------------------------- normals and counts


def test_indifference_normals_pairs_and_zero_rows():
    g = np.array(
        [
            [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]],  # actions 0 and 2 identical: zero row dropped
            [[0.5, 0.5], [0.0, 1.0], [1.0, 1.0]],
        ]
    )
    H, pairs = indifference_normals(g, return_pairs=True)
    assert pairs.tolist() == [[0, 0, 1], [0, 1, 2], [1, 0, 1], [1, 0, 2], [1, 1, 2]]
    for (k, a, b), h in zip(pairs, H):
        assert np.array_equal(h, g[k, a] - g[k, b])
    assert np.array_equal(indifference_normals(g), H)


def test_counts_are_consistent():
    rng = np.random.default_rng(0)
    H = indifference_normals(rng.random((6, 3, 3)))
    c = arrangement_counts(H)
    U = len(prepare_hyperplanes(H))
    assert c.hyperplanes_in == len(H) and c.hyperplanes == U
    assert c.subsets == comb(U + 3, 2)
    assert c.vertices == len(arrangement_vertices(H)) <= c.in_simplex <= c.nonsingular <= c.subsets


# --------------------------------------------------------------------------- independent brute force


def brute_force_2(H):
    """|X| = 2: breakpoints t = h0 / (h0 − h1) in [0, 1], plus the endpoints."""
    ts = [0.0, 1.0]
    for h0, h1 in H:
        if h0 != h1:
            t = h0 / (h0 - h1)
            if -1e-12 <= t <= 1 + 1e-12:
                ts.append(min(max(t, 0.0), 1.0))
    return dedupe([np.array([1 - t, t]) for t in ts])


def brute_force_3(H):
    """|X| = 3: every pair of lines (hyperplanes and edges) meets where the cross product of
    their homogeneous coordinates points; keep it if it lies in the triangle."""
    lines = [h for h in H if np.abs(h).max() > 1e-12] + list(np.eye(3))
    pts = []
    for a, b in itertools.combinations(lines, 2):
        c = np.cross(a, b)
        if np.abs(c).max() < 1e-9 * np.linalg.norm(a) * np.linalg.norm(b):
            continue  # parallel (the same line through the origin)
        s = c.sum()
        if abs(s) < 1e-12:
            continue  # meets Σq = 1 at infinity
        q = c / s
        if q.min() >= -1e-10:
            pts.append(np.maximum(q, 0) / np.maximum(q, 0).sum())
    return dedupe(pts)


def brute_force_4(H):
    """|X| = 4: null space (SVD) of every 3 rows among hyperplanes and facets, scaled to Σq = 1."""
    from scipy.linalg import null_space

    rows = [h for h in H if np.abs(h).max() > 1e-12] + list(np.eye(4))
    pts = []
    for S in itertools.combinations(rows, 3):
        N = null_space(np.array(S), rcond=1e-10)
        if N.shape[1] != 1:
            continue
        n = N[:, 0]
        if abs(n.sum()) < 1e-12:
            continue
        q = n / n.sum()
        if q.min() >= -1e-10:
            pts.append(np.maximum(q, 0) / np.maximum(q, 0).sum())
    return dedupe(pts)


@pytest.mark.parametrize("seed", range(20))
def test_matches_brute_force_two_observations(seed):
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(int(rng.integers(0, 8)), 2))
    assert same_points(arrangement_vertices(H, n_x=2), brute_force_2(H))


@pytest.mark.parametrize("seed", range(30))
def test_matches_brute_force_three_observations(seed):
    rng = np.random.default_rng(seed)
    if seed % 3 == 0:  # gridded utilities: many coincidences and parallel lines
        H = indifference_normals(rng.integers(0, 3, size=(int(rng.integers(1, 5)), 3, 3)) / 2)
    else:
        H = rng.normal(size=(int(rng.integers(0, 9)), 3))
    assert same_points(arrangement_vertices(H, n_x=3), brute_force_3(H))


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_four_observations(seed):
    rng = np.random.default_rng(100 + seed)
    if seed % 2:
        H = indifference_normals(rng.integers(0, 3, size=(2, 3, 4)) / 2)
    else:
        H = rng.normal(size=(int(rng.integers(0, 6)), 4))
    assert same_points(arrangement_vertices(H, n_x=4), brute_force_4(H))


# --------------------------------------------------------------------------- invariants


@settings(max_examples=60, deadline=None)
@given(
    n_x=st.integers(2, 4),
    rows=st.integers(0, 6),
    seed=st.integers(0, 2**31 - 1),
    grid=st.booleans(),
)
def test_every_vertex_is_a_vertex(n_x, rows, seed, grid):
    rng = np.random.default_rng(seed)
    H = (rng.integers(-2, 3, size=(rows, n_x)) / 2) if grid else rng.normal(size=(rows, n_x))
    V = arrangement_vertices(H, n_x=n_x)
    assert np.all(V >= 0) and np.allclose(V.sum(axis=1), 1)
    for e in np.eye(n_x):  # corners are always vertices
        assert np.min(np.abs(V - e).max(axis=1)) < 1e-12
    # pairwise distinct
    if len(V) > 1:
        d = np.abs(V[:, None, :] - V[None, :, :]).max(axis=2) + np.eye(len(V))
        assert d.min() > 1e-9
    # n_x independent equations (with Σq = 1) are active at every vertex
    hs = prepare_hyperplanes(H, n_x=n_x)
    rowsU = np.vstack([hs.normals, np.eye(n_x)])
    for v in V:
        active = rowsU[np.abs(rowsU @ v) <= 1e-9]
        assert np.linalg.matrix_rank(np.vstack([np.ones(n_x), active]), tol=1e-9) == n_x
    # the order of the hyperplanes does not matter
    assert np.allclose(arrangement_vertices(H[rng.permutation(rows)], n_x=n_x), V)
