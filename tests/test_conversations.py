"""Conversations (docs/model.md §14): private observations, user kinds, menus of schemes.

Hand-checked numbers (the privately informed judge), an independent exact computation of the
prosecutor's optimum, the nesting of best-deviation values across the four combinations
(personalized/anonymous × menus or not), invariance when the private observation says nothing,
an independent response with explicit misreport checks, and counterexample B with menus.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import pluralign as pa
from pluralign.analysis.persuasion import build_menu_lp
from pluralign.model.io import dump_market, parse_market
from pluralign.model.kinds import kinds_of, layout_of

COMBOS = [("personalized", True), ("personalized", False), ("anonymous", True), ("anonymous", False)]


def judge():
    return pa.catalog.load("private_judge")


# --------------------------------------------------------------------------- the file format


def test_private_block_validates_round_trips_and_reports_per_kind(cli):
    m = judge()
    assert m.has_private and m.n_private == 2 and m.private_signals == ("looks_innocent", "looks_guilty")
    for fmt in ("yaml", "json"):
        assert parse_market(dump_market(m, fmt), fmt=fmt).equals(m)
    doc = json.loads(cli("analyze", "private_judge", "--json", "--kinds").out)
    (user,) = doc["users"]
    assert user["opt"] == pytest.approx(1.0) and user["noinfo"] == pytest.approx(0.8)
    kinds = {k["name"]: k for k in doc["kinds"]}
    # looks guilty: P = 0.3·0.8 + 0.7·0.2 = 0.38, posterior guilty 0.24/0.38: she convicts, right w.p. 0.6316
    assert kinds["judge/looks_guilty"]["mass"] == pytest.approx(0.38)
    assert kinds["judge/looks_guilty"]["noinfo"] == pytest.approx(0.24 / 0.38)
    assert kinds["judge/looks_innocent"]["noinfo"] == pytest.approx(0.56 / 0.62)
    assert all(k["opt"] == pytest.approx(1.0) for k in kinds.values())


def test_markets_without_the_block_are_unchanged(cli):
    doc = json.loads(cli("analyze", "prosecutor", "--json").out)
    assert "menus" not in doc and doc["users"][0]["noinfo"] == pytest.approx(0.7)
    assert "private" not in dump_market(pa.catalog.load("prosecutor"))


@pytest.mark.parametrize(
    "block,needle",
    [
        ("private: [1, 2]", "private: expected a mapping"),
        ("private: {signals: [z0, z1]}", "missing required field 'observation'"),
        ("private: {signals: [z0, z1], observation: {innocent: [0.8, 0.3], guilty: [0.2, 0.8]}}",
         "private.observation.innocent: P(private signal | state) must sum to 1"),
        ("private: {signals: [z0, z0], observation: {innocent: [0.8, 0.2], guilty: [0.2, 0.8]}}", "private.signals"),
        ("private: {signals: [z0, z1], observation: {innocent: [0.8, 0.2], maybe: [0.2, 0.8]}}", "unknown state"),
        ("private: {signals: [z0, z1], observation: {innocent: [0.8, 0.2], guilty: [0.2, 0.8]}, extra: 1}",
         "private.extra: unknown field"),
    ],
)
def test_malformed_private_block_is_one_located_line(cli, tmp_path, block, needle):
    text = (pa.catalog.path("prosecutor").read_text().rstrip() + "\n" + block + "\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    res = cli("validate", str(path))
    assert res.code == 2
    first = res.err.strip().splitlines()[0]
    assert needle in first and "bad.yaml:" in first


# --------------------------------------------------------------------------- the prosecutor's optimum


def test_prosecutor_optimum_against_a_privately_informed_judge_two_ways():
    """The prosecutor's best persuasion of the judge is 13/30 with or without menus; (1) the LPs,
    (2) exactly, in rationals: the optimal scheme is obedient for both kinds and convicts with
    probability 13/30, and an independent LP (scipy, hand-built rows) finds the same maximum."""
    m = judge()
    for menus in (False, True):
        r = pa.monopoly(m, 0, 0, menus=menus)
        assert r.provider_utility == pytest.approx(13 / 30, abs=1e-8)
        assert r.user_utility == pytest.approx(0.8, abs=1e-8)  # the judge stays at NOINFO
    # (2) signals: "a|c" (acquit if she looks innocent, convict if guilty) and "c|c" (convict)
    prior, acc = {"I": F(7, 10), "G": F(3, 10)}, F(8, 10)
    pz = {("I", "i"): acc, ("I", "g"): 1 - acc, ("G", "g"): acc, ("G", "i"): 1 - acc}  # P(z | y)
    scheme = {"I": {"a|c": F(20, 21), "c|c": F(1, 21)}, "G": {"a|c": F(5, 9), "c|c": F(4, 9)}}
    convict = F(0)
    for s, actions in (("a|c", {"i": "a", "g": "c"}), ("c|c", {"i": "c", "g": "c"})):
        for z in ("i", "g"):
            w = {y: prior[y] * pz[(y, z)] * scheme[y][s] for y in prior}  # joint weight of (s, z, y)
            act = actions[z]
            gain = w["G"] - w["I"] if act == "c" else w["I"] - w["G"]  # following minus deviating
            assert gain >= 0  # obedient (with equality where the prosecutor leaves her indifferent)
            convict += sum(w.values()) if act == "c" else 0
    assert convict == F(13, 30)
    # an independent LP over the four recommendation profiles (action if innocent-looking, if guilty-looking)
    profiles = list(itertools.product("ac", repeat=2))
    P = {"I": 0.7, "G": 0.3}
    L = {("I", "i"): 0.8, ("I", "g"): 0.2, ("G", "g"): 0.8, ("G", "i"): 0.2}
    c = np.zeros(8)
    A_ub, b_ub = [], []
    for k, prof in enumerate(profiles):
        for t, y in enumerate(("I", "G")):
            c[2 * k + t] = -P[y] * sum(L[(y, z)] for z, act in zip("ig", prof) if act == "c")
        for z, act in zip("ig", prof):  # obedience of kind z after this profile
            row = np.zeros(8)
            for t, y in enumerate(("I", "G")):
                right = (y == "G") == (act == "c")
                row[2 * k + t] = -P[y] * L[(y, z)] * (1 if right else -1)
            A_ub.append(row)
            b_ub.append(0.0)
    A_eq = [[1 if j % 2 == t else 0 for j in range(8)] for t in (0, 1)]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1, 1], bounds=[(0, 1)] * 8)
    assert -res.fun == pytest.approx(13 / 30, abs=1e-9)


def test_menu_lp_builder_by_hand():
    """Two kinds of one user with the same prior (z says nothing), one attracted: rows by hand."""
    P = np.array([np.diag([0.5, 0.5])] * 2)  # [k, x, y]
    u = np.array([[[1.0, 0.0], [0.0, 1.0]]] * 2)
    U = np.array([[[0.0, 0.0], [1.0, 1.0]]] * 2)
    lp, layout = build_menu_lp(P, u, U, np.array([0.5, 0.5]), [0], [0, 1], leave=np.array([0.0, 0.3]),
                               participation=np.array([0.6, -np.inf]), outside_cap=np.array([np.inf, 0.9]))
    assert layout.pairs == ((1, 0),) and lp.num_cols == 2 * 2 + 2
    A = lp.A.toarray()
    np.testing.assert_allclose(lp.c[:4], [0, 0.25, 0, 0.25])  # p_0 · Σ_y P U[a, y] per (x, a)
    assert lp.offset == pytest.approx(0.5 * 0.3)  # the kind left where she is
    np.testing.assert_allclose(A[0], [1, 1, 0, 0, 0, 0])  # item 0's row x = 0 sums to 1
    # participation: kind 0 follows item 0: Σ σ(x, a) P(x) u(a, x) ≥ 0.6
    row = [r for r in range(A.shape[0]) if lp.row_lower[r] == 0.6][0]
    np.testing.assert_allclose(A[row], [0.5, 0, 0, 0.5, 0, 0])
    # kind 1 must not prefer item 0: t[0] + t[1] ≤ 0.9
    row = [r for r in range(A.shape[0]) if lp.row_upper[r] == 0.9][0]
    np.testing.assert_allclose(A[row], [0, 0, 0, 0, 1, 1])


# --------------------------------------------------------------------------- nesting and invariance


def private_market(seed: int, n_users: int, informative: bool = True, n_z: int = 2):
    rng = np.random.default_rng(seed)
    n_y, n_a = 2, 2
    obs = rng.dirichlet(np.ones(n_z), size=n_y) if informative else np.full((n_y, n_z), 1.0 / n_z)
    return pa.Market.from_arrays(
        prior=rng.dirichlet(np.ones(n_y)), u=rng.random((n_users, n_a, n_y)), U=rng.random((2, n_users, n_a, n_y)),
        private_observation=obs, name=f"private-{seed}",
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n_users=st.integers(1, 2), others=st.sampled_from(["silent", "full"]),
       provider=st.integers(0, 1))
def test_nesting_of_best_deviation_values(seed, n_users, others, provider):
    """Against the same outside options (the other provider plays one scheme everywhere), the best
    deviation value: personalized+menus ≥ personalized ≥ anonymous; personalized+menus ≥ anonymous+menus ≥ anonymous."""
    m = private_market(seed, n_users)
    bound = {}
    for regime, menus in COMBOS:
        game = pa.ProviderGame(m, regime, menus=menus)
        profile = game.uninformative() if others == "silent" else game.full_revelation()
        bound[(regime, menus)] = game.best_response(profile, provider).bound
    eps = 1e-7
    assert bound[("personalized", True)] >= bound[("personalized", False)] - eps
    assert bound[("personalized", False)] >= bound[("anonymous", False)] - eps
    assert bound[("personalized", True)] >= bound[("anonymous", True)] - eps
    assert bound[("anonymous", True)] >= bound[("anonymous", False)] - eps


@pytest.mark.parametrize("seed", range(6))
def test_menus_change_nothing_without_private_observations(seed):
    m = pa.catalog.random_market(seed, n_states=2, n_actions=2, n_users=2, n_providers=2, user_specific=True)
    a, b = (pa.ProviderGame(m, "personalized", menus=menus) for menus in (False, True))
    assert b.strategy() == "per-user"  # one report per user: the menu is one scheme
    for i in range(2):
        ba, bb = a.best_response(a.uninformative(), i), b.best_response(b.uninformative(), i)
        assert ba.bound == pytest.approx(bb.bound, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("regime,menus", COMBOS)
def test_a_private_observation_that_says_nothing_changes_nothing(seed, regime, menus):
    """z independent of the state: kinds share their type's beliefs; every best response is the one
    of the market without private observations (menus only add useless reports)."""
    m = private_market(seed, 2, informative=False)
    plain = pa.Market.from_arrays(prior=m.prior, u=m.u, U=m.U, name="plain")
    g_private = pa.ProviderGame(m, regime, menus=menus)
    g_plain = pa.ProviderGame(plain, regime)
    for i in range(2):
        a = g_private.best_response(g_private.uninformative(), i)
        b = g_plain.best_response(g_plain.uninformative(), i)
        assert a.bound == pytest.approx(b.bound, abs=1e-7) and a.current == pytest.approx(b.current, abs=1e-9)


# --------------------------------------------------------------------------- responses with reports, by brute force


def brute_force_payoffs(market, profile_items, regime, menus, mode="actions"):
    """Each kind: values of every item she may use (loops), truthful report on ties, then the
    lowest-index provider among the best; returns Π (independent of pluralign.model.users)."""
    kinds = kinds_of(market)
    lay = layout_of(market, regime, menus)
    k = profile_items.shape[0]
    pay = np.zeros(k)
    for n in range(kinds.n_kinds):
        Pk, uk = kinds.P[n], kinds.u[n]
        best_val, best_item = [], []
        for o in range(k):
            vals = {}
            for q in range(lay.n_items):
                if not lay.access[n, q]:
                    continue
                sig = profile_items[o, q]
                v = 0.0
                for s in range(sig.shape[1]):
                    v += max(sum(Pk[x, y] * sig[x, s] * uk[a, y] for x in range(sig.shape[0]) for y in range(Pk.shape[1]))
                             for a in range(uk.shape[0]))
                vals[q] = v
            top = max(vals.values())
            truthful = lay.truthful[n]
            q = truthful if vals.get(truthful, -1) >= top - 1e-9 else min(q for q, v in vals.items() if v >= top - 1e-9)
            best_val.append(top)
            best_item.append(q)
        top = max(best_val)
        o = min(o for o in range(k) if best_val[o] >= top - 1e-9)
        sig = profile_items[o, best_item[o]]
        for s in range(sig.shape[1]):
            w = [sum(Pk[x, y] * sig[x, s] for x in range(sig.shape[0])) for y in range(Pk.shape[1])]
            if sum(w) <= 0:
                continue
            exp = [sum(w[y] * uk[a, y] for y in range(len(w))) / sum(w) for a in range(uk.shape[0])]
            a = min(a for a in range(len(exp)) if exp[a] >= max(exp) - 1e-9)
            for i in range(k):
                if mode == "actions" or i == o:
                    pay[i] += kinds.mass[n] * sum(w[y] * kinds.U[i, n, a, y] for y in range(len(w)))
    return pay


@pytest.mark.parametrize("regime", ["personalized", "anonymous"])
@pytest.mark.parametrize("seed", range(3))
def test_menus_of_partitions_by_brute_force(regime, seed):
    """Every profile of partition menus: the engine's payoffs equal the brute force's (explicit
    misreport checks); and no partition menu of provider 0 beats its certified bound."""
    m = private_market(seed, 1, n_z=2)
    game = pa.ProviderGame(m, regime, menus=True)
    parts = [np.ones((2, 1)), np.eye(2)]
    Q = game.layout().n_items
    base = game.uninformative()
    bound = game.best_response(base, 0).bound
    best = -np.inf
    for combo in itertools.product(range(2), repeat=Q):
        items = np.zeros((2, Q, 2, 2))
        for q, c in enumerate(combo):
            items[0, q] = np.pad(parts[c], ((0, 0), (0, 2 - parts[c].shape[1])))
        items[1, :, :, 0] = 1.0
        profile = game.profile_from_items(items)
        expected = brute_force_payoffs(m, profile.items(), regime, True)
        np.testing.assert_allclose(game.payoffs(profile), expected, atol=1e-9)
        best = max(best, expected[0])
    assert best <= bound + 1e-7


def test_counterexample_b_survives_menus():
    """Match/mismatch: users who want opposite things value every item alike, so no menu separates
    them: 'both silent' stays a verified anonymous equilibrium with menus, and fails in both
    personalized variants."""
    m = pa.catalog.load("match_mismatch")
    for regime, menus in COMBOS:
        game = pa.ProviderGame(m, regime, menus=menus)
        v = game.verify(game.uninformative())
        assert v.verified == (regime == "anonymous"), (regime, menus)
        if regime == "anonymous":
            np.testing.assert_allclose(v.utilities, [0.5, 0.5])


def test_private_judge_solves_in_all_four_combinations(cli):
    for regime, menus in COMBOS:
        args = ["solve", "private_judge", "--regime", regime, "--method", "enumerate", "--json"] + (["--menus"] if menus else [])
        res = cli(*args)
        assert res.code == 0, res.err
        doc = json.loads(res.out)
        assert doc["equilibria"], (regime, menus)
        for eq in doc["equilibria"]:
            assert eq["guarantee"]["holds"] and eq["guarantee"]["guarantee"] == ("A" if regime == "personalized" else "C")
            if menus:  # each policy lists its items by report
                pol = eq["policies"]["prosecutor"]
                keys = set(pol["judge"]) if regime == "personalized" else set(pol)
                assert keys == ({"looks_innocent", "looks_guilty"} if regime == "personalized"
                                else {"judge/looks_innocent", "judge/looks_guilty"})


# --------------------------------------------------------------------------- type aggregation


def duplicated(seed: int, copies: int):
    base = pa.catalog.random_market(seed, n_states=3, n_actions=2, n_users=2, n_providers=2, user_specific=True)
    u = np.repeat(base.u, copies, axis=0)
    U = np.repeat(base.U, copies, axis=1)
    p = np.repeat(base.p / copies, copies)
    return base, pa.Market.from_arrays(prior=base.prior, u=u, U=U, p=p, name="duplicated")


@pytest.mark.parametrize("seed", range(4))
def test_duplicated_user_types_give_the_deduplicated_best_response(seed):
    base, dup = duplicated(seed, 6)  # 12 users: beyond the guard of 10 unless identical types are merged
    for i in range(2):
        a = pa.ProviderGame(base, "anonymous")
        b = pa.ProviderGame(dup, "anonymous", method="exact")
        assert b.strategy() == "attracted-sets"
        ra = a.best_response(a.full_revelation(), i)
        rb = b.best_response(b.full_revelation(), i)
        assert rb.exact and rb.bound == pytest.approx(ra.bound, abs=1e-7) and rb.value == pytest.approx(ra.value, abs=1e-7)
        np.testing.assert_allclose(rb.user_value.reshape(2, 6).mean(axis=1), ra.user_value, atol=1e-7)  # per original type
    small = duplicated(seed, 3)[1]  # 6 users: within the guard even without merging
    off = pa.ProviderGame(small, "anonymous", aggregate=False)
    on = pa.ProviderGame(small, "anonymous")
    for i in range(2):
        assert off.best_response(off.uninformative(), i).bound == pytest.approx(
            on.best_response(on.uninformative(), i).bound, abs=1e-7)
    unmerged = pa.ProviderGame(dup, "anonymous", method="exact", aggregate=False)
    with pytest.raises(pa.SizeError):
        unmerged.best_response(unmerged.uninformative(), 0)
