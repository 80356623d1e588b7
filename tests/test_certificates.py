"""Exact certificates (docs/certificates.md): built from the engine's games, proven by a checker that
uses rational arithmetic only, rejected when tampered with, and cross-checked against the engine."""

from __future__ import annotations

import ast
import copy
import itertools
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import pluralign as pa
from pluralign import catalog
from pluralign.analysis.certificates import (
    Malformed,
    NoExactCertificate,
    build,
    certify,
    certify_alignment,
    check_document,
    check_file,
    load_document,
)
from pluralign.analysis.certificates import check as checker
from pluralign.model.users import ResponseRule

CHECK_PY = Path(checker.__file__)


def recheck(doc: dict):
    """The checker's report on a (possibly modified) document, after a JSON round trip."""
    return check_document(load_document(json.dumps(doc)))


def private(market) -> bool:
    return getattr(market, "private_observation", None) is not None


def private_market(seed: int, n_users: int, n_z: int, n_states: int = 2, n_actions: int = 2) -> pa.Market:
    """A small random market whose users observe z privately (docs/model.md §14)."""
    rng = np.random.default_rng(seed)
    return pa.Market.from_arrays(
        prior=rng.dirichlet(np.ones(n_states)), p=rng.dirichlet(np.ones(n_users)), u=rng.random((n_users, n_actions, n_states)),
        U=rng.random((2, n_users, n_actions, n_states)), private_observation=rng.dirichlet(np.ones(n_z), size=n_states),
        name=f"private-{seed}",
    )


# ============================================================================ catalog equilibria


@pytest.mark.parametrize("menus", [False, True])
@pytest.mark.parametrize("regime", ["personalized", "anonymous"])
@pytest.mark.parametrize("name", catalog.names())
def test_every_verified_catalog_equilibrium_is_proven(name, regime, menus, tmp_path):
    """Issue 11's Done-when: every bundled market, both regimes, with and without menus (private_judge:
    users with private observations in all four combinations)."""
    market = catalog.load(name)
    game = pa.ProviderGame(market, regime, menus=menus)
    search = pa.enumerate_solve(game)
    assert search.verified
    for n, eq in enumerate(search.verified):
        cert = certify(game, eq.profile)
        assert cert.document["version"] == (2 if menus or private(market) else 1)
        path = cert.save(tmp_path / f"eq{n}.json")
        report = check_file(path)
        assert report.proven and report.problems == [], report.text()
        assert "equilibrium: proven" in report.lines[-1]
        assert all(r <= Fraction(1, 10**6) for r in report.values["regrets"])
        # the exact payoffs are the engine's (the catalog has no near-ties)
        np.testing.assert_allclose([float(p) for p in report.values["payoffs"]], eq.verification.payoffs, atol=1e-12)
        bounds = [p + r for p, r in zip(report.values["payoffs"], report.values["regrets"])]
        engine = [br.bound for br in eq.verification.best_responses]
        np.testing.assert_allclose([float(b) for b in bounds], engine, atol=1e-8)


def test_match_mismatch_uninformative_anonymous_is_exact():
    """docs/model.md §9 B: both providers silent, users at ½ — an exact equilibrium (regret exactly 0)."""
    game = pa.ProviderGame(catalog.load("match_mismatch"), "anonymous")
    cert = certify(game, game.uninformative())
    assert cert.regrets == (Fraction(0), Fraction(0))
    assert cert.payoffs == (Fraction(1, 2), Fraction(1, 2))
    assert cert.bounds == (Fraction(1, 2), Fraction(1, 2))
    assert cert.exact and cert.proven
    assert cert.report.lines[-1] == "equilibrium: proven (exact equilibrium: every regret ≤ 0)"
    assert cert.document["response"]["utilities"] == ["1/2", "1/2"]


def test_prosecutor_monopoly_bound_is_three_fifths():
    """docs/model.md §6: against a silent defence the prosecutor can get conviction 3/5, exactly."""
    game = pa.ProviderGame(catalog.load("prosecutor"), "personalized")
    cert = certify(game, game.uninformative())
    assert cert.payoffs == (Fraction(0), Fraction(1))
    assert cert.bounds[0] == Fraction(3, 5)
    assert not cert.proven and cert.report.code == 1


def test_non_equilibrium_shows_positive_exact_regret_and_exits_1(cli, tmp_path):
    game = pa.ProviderGame(catalog.load("match_mismatch"), "personalized")
    cert = certify(game, game.uninformative())  # each provider informs "its" user (docs/model.md §9 B)
    assert cert.regrets == (Fraction(1, 4), Fraction(1, 4))
    path = cert.save(tmp_path / "not.json")
    res = cli("check", str(path))
    assert res.code == 1
    assert "regret 1/4" in res.out
    assert "equilibrium: NOT proven (largest regret 1/4 > tolerance 1/1000000)" in res.out


def test_certificates_are_deterministic():
    game = pa.ProviderGame(catalog.load("forecast"), "anonymous")
    profile = game.random_profile(np.random.default_rng(3))
    assert certify(game, profile).to_json() == certify(game, profile).to_json()


# ============================================================================ private observations and menus (docs/model.md §14)


def test_match_mismatch_uninformative_anonymous_with_menus_is_exact():
    """docs/model.md §14.5: "B survives menus" — both users value every item alike, so the silent anonymous
    profile stays an exact equilibrium with menus; its bound needs menu LPs (incentive compatibility)."""
    game = pa.ProviderGame(catalog.load("match_mismatch"), "anonymous", menus=True)
    cert = certify(game, game.uninformative())
    assert cert.regrets == (Fraction(0), Fraction(0)) and cert.payoffs == (Fraction(1, 2), Fraction(1, 2))
    assert cert.exact and cert.proven and cert.document["version"] == 2 and cert.document["settings"]["menus"] is True
    kinds = {e["kind"] for p in cert.document["providers"] for e in p["lps"]}
    assert kinds == {"attract", "menu"}
    assert cert.document["response"]["items"] == [[0, 1], [0, 1]]  # equal items: each reports truthfully


def test_match_mismatch_silent_with_menus_personalized_is_not_an_equilibrium(cli, tmp_path):
    """Issue 9: the silent profile fails in the personalized regime with menus: each provider informs its
    own user, exactly 1/4 more (the same as without menus: one report per user)."""
    game = pa.ProviderGame(catalog.load("match_mismatch"), "personalized", menus=True)
    cert = certify(game, game.uninformative())
    assert cert.regrets == (Fraction(1, 4), Fraction(1, 4)) and not cert.proven
    res = cli("check", str(cert.save(tmp_path / "not.json")))
    assert res.code == 1
    assert "regret 1/4" in res.out and "equilibrium: NOT proven (largest regret 1/4" in res.out


@pytest.mark.parametrize("regime, menus", [("personalized", False), ("personalized", True), ("anonymous", False), ("anonymous", True)])
def test_private_judge_prosecutor_bound_is_thirteen_thirtieths(regime, menus):
    """docs/model.md §14.6, by hand: against a silent defence the prosecutor can convict with probability
    at most 13/30, with or without menus; silent, it convicts when the judge looks guilty, 19/50."""
    game = pa.ProviderGame(catalog.load("private_judge"), regime, menus=menus)
    cert = certify(game, game.uninformative())
    assert cert.payoffs == (Fraction(19, 50), Fraction(31, 50))
    assert cert.bounds[0] == Fraction(13, 30) and cert.regrets[0] == Fraction(4, 75)
    assert cert.report.problems == [] and cert.report.code == 1
    assert cert.document["market"]["private"] == {"signals": ["looks_innocent", "looks_guilty"],
                                                  "observation": [["4/5", "1/5"], ["1/5", "4/5"]]}
    assert cert.document["response"]["utilities"] == ["28/31", "12/19"]  # per kind: P(right | z) acting on z
    assert {e["kind"] for e in cert.document["providers"][0]["lps"]} == {"attract", "menu" if menus else "attracted_set"}
    assert "1 user in 2 kinds (private observations)" in cert.report.lines[0]


def test_solve_menus_certify_then_check(cli, tmp_path):
    out = tmp_path / "certs"
    res = cli("solve", "private_judge", "--regime", "anonymous", "--menus", "--method", "enumerate", "--certify", str(out))
    assert res.code == 0, res.err
    files = sorted(out.glob("equilibrium-*.json"))
    assert len(files) == 9 and res.out.count("exact equilibrium; largest certified regret 0") == 9
    for path in files:
        res = cli("check", str(path), "--market", "private_judge")
        assert res.code == 0 and "equilibrium: proven" in res.out and "exactly private_judge" in res.out


@pytest.fixture
def menu_doc():
    game = pa.ProviderGame(catalog.load("private_judge"), "anonymous", menus=True)
    return certify(game, pa.enumerate_solve(game).verified[0].profile).document


def test_tampered_private_observation_is_rejected(menu_doc):
    assert recheck(menu_doc).proven
    doc = copy.deepcopy(menu_doc)
    doc["market"]["private"]["observation"] = [["3/4", "1/4"], ["1/4", "3/4"]]  # a judge right 75% of the time
    rejected(doc, "provider prosecutor: bound: recorded 3/10, recomputed 4059/11780")  # the multipliers no longer prove 3/10
    doc = copy.deepcopy(menu_doc)
    doc["market"]["private"]["observation"][0] = ["4/5", "1/4"]
    rejected(doc, "market.private.observation[0] is not a probability distribution")
    doc = copy.deepcopy(menu_doc)
    del doc["market"]["private"]  # read without private observations: one report, the recorded menus no longer fit
    with pytest.raises(Malformed, match="profile.0.: expected a list of 1 schemes"):
        recheck(doc)


def test_tampered_menu_item_and_payoff_are_rejected(menu_doc):
    doc = copy.deepcopy(menu_doc)
    doc["profile"][0][1] = [["1"], ["1"]]  # the prosecutor's item for the report "looks guilty" says nothing
    rejected(doc, "response.values")
    doc = copy.deepcopy(menu_doc)
    doc["profile"][1][0][0] = ["1/2", "1/3"]
    rejected(doc, "the scheme of defence for the report judge/looks_innocent is not row-stochastic")
    doc = copy.deepcopy(menu_doc)
    doc["payoffs"][0] = "1/3"
    rejected(doc, "payoffs")
    doc = copy.deepcopy(menu_doc)
    doc["response"]["items"][0][0] = 0  # "looks innocent" would use her own (silent) item, not the one that reveals
    rejected(doc, "response.items")


@pytest.fixture
def silent_menu_doc():
    game = pa.ProviderGame(catalog.load("match_mismatch"), "anonymous", menus=True)
    return certify(game, game.uninformative()).document


def test_tampered_menu_multiplier_is_rejected(silent_menu_doc):
    doc = copy.deepcopy(silent_menu_doc)
    lp = next(e for e in doc["providers"][0]["lps"] if e["kind"] == "menu" and e["set"] == [0, 1])
    lp["dual"][-1][1] = str(Fraction(lp["dual"][-1][1]) + Fraction(1, 5))
    rejected(doc, "provider match_ai: bound")
    doc = copy.deepcopy(silent_menu_doc)
    doc["providers"][0]["lps"] = [e for e in doc["providers"][0]["lps"] if e.get("set") != [0, 1]]
    rejected(doc, "provider match_ai: bound: recorded 1/2, recomputed 3/4")  # the relaxation alone


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["providers"][0]["lps"][2].update(kind="attracted_set"), "needs a 'menu' LP"),
        (lambda d: d["providers"][0]["lps"][2].update(set=[1, 0]), "expected increasing user kind indices"),
        (lambda d: d["providers"][0]["lps"][2].update(set=[]), "expected increasing user kind indices"),
        (lambda d: d["providers"][0]["lps"][0].update(user=2), "user kind index in 0..1"),
        (lambda d: d["settings"].pop("menus"), "missing field 'menus'"),
        (lambda d: d["settings"].update(menus="yes"), "settings.menus: expected a bool"),
        (lambda d: d["profile"][0].pop(), "expected a list of 2 schemes"),
        (lambda d: d.update(version=1), "need version 2"),
    ],
)
def test_malformed_menu_documents_raise(silent_menu_doc, edit, message):
    doc = copy.deepcopy(silent_menu_doc)
    edit(doc)
    with pytest.raises(Malformed, match=message):
        recheck(doc)


def test_a_menu_lp_is_refused_where_one_scheme_serves_everyone(silent_doc, silent_menu_doc):
    """A set's LP must be the game's: a menu bounds more deviations than one scheme, and a single scheme's
    LP would not bound a menu's deviations."""
    doc = copy.deepcopy(silent_doc)
    next(e for e in doc["providers"][0]["lps"] if e.get("set") == [0, 1])["kind"] = "menu"
    with pytest.raises(Malformed, match="needs a 'attracted_set' LP"):
        recheck(doc)


PRIVATE_CASES = [(regime, menus, seed) for seed in range(8) for regime in ("personalized", "anonymous") for menus in (False, True)]


@pytest.mark.parametrize("regime, menus, seed", PRIVATE_CASES)
def test_private_and_menu_bounds_match_the_engine(regime, menus, seed):
    """As test_certified_bounds_match_the_engine, for users with private observations (2 or 3 signals z,
    1 or 2 types, 2 or 3 states), with and without menus, every tie rule and payoff mode."""
    rng = np.random.default_rng(1000 + seed)
    market = private_market(1000 + seed, n_users=1 + seed % 2, n_z=2 + (seed // 2) % 2, n_states=2 + (seed // 4) % 2,
                            n_actions=2 + (seed == 6))
    tie, ties = ("lowest", "highest", "uniform")[seed % 3], ("rule", "deviator")[(seed // 3) % 2]
    game = pa.ProviderGame(market, regime, menus=menus, rule=ResponseRule(provider_tie=tie, tol=1e-12), ties=ties,
                           mode="usage" if seed % 4 == 1 else "actions")
    for profile in (game.random_profile(rng), game.full_revelation() if seed % 2 else game.uninformative()):
        cert = certify(game, profile)
        assert cert.report.problems == [] and cert.document["version"] == 2
        assert min(cert.regrets) >= 0
        brs = [game.best_response(profile, i) for i in range(2)]
        engine, attained = np.array([br.bound for br in brs]), np.array([br.value for br in brs])
        exact = np.array([float(b) for b in cert.bounds])
        # the engine's relaxed thresholds (tolerance 1e-12) move its supremum by (a multiplier) × 1e-12: up to
        # ~2e-9 here (the gap shrinks with the tolerance; at 0 it is round-off)
        assert np.all(exact >= engine - 1e-8), (exact - engine)
        assert np.all(exact <= engine + 1e-6), (exact - engine)
        assert np.all(exact >= attained - 1e-9)  # an explicit deviation never beats a proof
        np.testing.assert_allclose([float(p) for p in cert.payoffs], game.payoffs(profile), atol=1e-9)


@pytest.mark.parametrize("regime, menus, seed", PRIVATE_CASES[::3])
def test_no_menu_deviation_beats_the_certified_bound(regime, menus, seed):
    """The LP-free second check, with kinds and menus: explicit deviations (the engine's best response,
    the other provider's policy, full revelation, random items) scored exactly under the users' own rule
    never pay more than the certified bound, and under ties="rule" the engine's comes within its margin."""
    rng = np.random.default_rng(seed)
    market = private_market(2000 + seed, n_users=1 + seed % 2, n_z=2 + seed % 3 // 2)
    ties = ("rule", "deviator")[seed % 2]
    game = pa.ProviderGame(market, regime, menus=menus, rule=ResponseRule(provider_tie=("lowest", "highest")[seed // 2 % 2]), ties=ties)
    profile = game.random_profile(rng)
    cert = certify(game, profile)
    mkt = checker.Market(cert.document["market"], [])
    st = checker.settings_of(cert.document["settings"], cert.document["version"])
    lay = checker.layout_of(mkt, regime, menus)

    def exact_payoff(trial, i) -> Fraction:
        items = checker.items_of({"profile": build.exact_profile(game, trial)}, mkt, st, [])
        return checker.respond(mkt, lay, items, st).payoffs[i]

    n_items = game.layout().n_items
    for i in range(2):
        br = game.best_response(profile, i)
        policies = [br.policy, np.eye(market.n_observations), profile.items()[1 - i].reshape(profile.item_shape + profile.schemes.shape[-2:])]
        policies += [rng.dirichlet(np.full(3, 0.3), size=(n_items, market.n_observations)).reshape(profile.item_shape + (market.n_observations, 3))
                     for _ in range(15)]
        payoffs = [exact_payoff(profile.with_policy(i, policy), i) for policy in policies]
        assert max(payoffs) <= cert.bounds[i]
        # the engine's deviation, scored by the engine, is attained up to its margin; scored exactly it may
        # land 1e-16 on the wrong side of a tie its rule resolves for it (a kind kept at exactly a preferred
        # provider's value), so its exact payoff only bounds from below
        assert br.value <= float(cert.bounds[i]) + 1e-9
        if ties == "rule":
            assert float(cert.bounds[i]) - br.value <= 1e-5


# ============================================================================ tampering


@pytest.fixture
def silent_doc():
    game = pa.ProviderGame(catalog.load("match_mismatch"), "anonymous")
    return certify(game, game.uninformative()).document


def rejected(doc: dict, fragment: str) -> None:
    report = recheck(doc)
    assert report.code == 1 and not report.proven
    assert any(fragment in p for p in report.problems), report.problems
    assert report.lines[-1].startswith("certificate rejected")


def test_the_untampered_document_is_proven(silent_doc):
    assert recheck(silent_doc).proven


def test_tampered_multiplier_is_rejected(silent_doc):
    doc = copy.deepcopy(silent_doc)
    lp = next(e for e in doc["providers"][0]["lps"] if e["kind"] == "attracted_set" and e["set"] == [0, 1])
    lp["dual"][0][1] = str(Fraction(lp["dual"][0][1]) + Fraction(1, 7))
    rejected(doc, "provider match_ai: bound")


def test_dropped_lp_certificate_is_rejected(silent_doc):
    doc = copy.deepcopy(silent_doc)
    doc["providers"][0]["lps"] = [e for e in doc["providers"][0]["lps"] if e.get("set") != [0, 1]]
    rejected(doc, "provider match_ai: bound: recorded 1/2, recomputed 3/4")  # the relaxation alone: 3/4
    doc["providers"][0]["lps"] = [e for e in doc["providers"][0]["lps"] if e.get("user") != 0]
    rejected(doc, "attracted set [0, 1] is covered by no certificate")


def test_tampered_payoff_and_bound_are_rejected(silent_doc):
    doc = copy.deepcopy(silent_doc)
    doc["payoffs"][1] = "3/5"
    rejected(doc, "payoffs")
    doc = copy.deepcopy(silent_doc)
    doc["providers"][1]["bound"] = doc["providers"][1]["regret"] = "1/2"
    doc["providers"][1]["regret"] = "0"
    doc["providers"][0]["bound"] = "2/5"  # a smaller bound than the multipliers prove
    rejected(doc, "provider match_ai: bound")


def test_tampered_scheme_entry_is_rejected(silent_doc):
    doc = copy.deepcopy(silent_doc)
    doc["profile"][0] = [["1", "0"], ["1/2", "1/2"]]  # rows sum to 1: a different, valid profile
    rejected(doc, "response.values")
    doc = copy.deepcopy(silent_doc)
    doc["profile"][0][1][0] = "9/10"  # the row no longer sums to 1
    report = recheck(doc)
    assert report.code == 1 and "not row-stochastic" in report.problems[0]


def test_tampered_market_is_rejected(silent_doc):
    doc = copy.deepcopy(silent_doc)
    doc["market"]["U"][0][0][0][0] = "9/10"
    rejected(doc, "payoffs")
    doc = copy.deepcopy(silent_doc)
    doc["market"]["prior"] = ["1/2", "1/3"]
    report = recheck(doc)
    assert report.code == 1 and "market.prior" in report.problems[0]


def test_infeasible_attracted_set_gets_a_farkas_certificate():
    """Three states; A wants to know whether y = 0, B whether y = 1, C wants y itself. The two other
    providers tell A and B what they want, one each; a scheme that keeps both would reveal y and
    draw C: the set {A, B} without C is infeasible, which a Farkas certificate proves."""
    A = [[1, 0, 0], [0, 1, 1], [0, 1, 1]]
    B = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    market = pa.Market.from_arrays(prior=[1 / 3] * 3, u=[A, B, np.eye(3)], U=[np.eye(3), np.full((3, 3), 0.5), np.full((3, 3), 0.5)],
                                   p=[0.25, 0.25, 0.5])
    game = pa.ProviderGame(market, "anonymous")
    profile = pa.Profile.anonymous([pa.no_information(3), [[1, 0], [0, 1], [0, 1]], [[0, 1], [1, 0], [0, 1]]])
    doc = certify(game, profile).document
    mkt = checker.Market(doc["market"], [])
    st = checker.settings_of(doc["settings"], doc["version"])
    lay = checker.layout_of(mkt, "anonymous", False)
    dev = checker.deviation(mkt, checker.respond(mkt, lay, checker.items_of(doc, mkt, st, []), st), 0, st)
    value, entry = build.certify_lp(checker.set_lp(mkt, dev, 0, (0, 1), [0, 1, 2]), "the set {A, B}")
    assert value == checker.NEG and set(entry) == {"farkas"}
    doc["providers"][0]["lps"] = [e for e in doc["providers"][0]["lps"] if e.get("set") != [0, 1]]
    doc["providers"][0]["lps"].append({"kind": "attracted_set", "set": [0, 1], **entry})
    assert recheck(doc).problems == []  # one more (valid) certificate: the same bound, nothing rejected
    for pair in entry["farkas"]:
        pair[1] = str(-Fraction(pair[1]))
    rejected(doc, "Farkas multipliers do not prove")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["settings"].update(tie_tolerance="1/10"), "exact ties only"),
        (lambda d: d["settings"].update(regime="menus"), "settings.regime"),
        (lambda d: d["providers"][0]["lps"][0].update(kind="mystery"), "expected one of attract, attracted_set, menu"),
        (lambda d: d["providers"][0]["lps"][0].update(dual=[[999, "1"]]), "rows distinct"),
        (lambda d: d["providers"][0]["lps"][1]["dual"].append(d["providers"][0]["lps"][1]["dual"][0]), "rows distinct"),
        (lambda d: d["providers"][0]["lps"].append(copy.deepcopy(d["providers"][0]["lps"][-1])), "second certificate"),
        (lambda d: d["payoffs"].__setitem__(0, "0.5e"), "expected a rational"),
        (lambda d: d["payoffs"].__setitem__(0, "1/0"), "expected a rational"),
        (lambda d: d.pop("response"), "missing field 'response'"),
        (lambda d: d.update(version=3), "this checker reads versions 1 and 2"),
        (lambda d: d["providers"][0]["lps"][2].update(set=[2]), "user kind indices of one group"),
        (lambda d: d["providers"][0]["lps"][0].update(user=2), "user kind index in 0..1"),
    ],
)
def test_malformed_documents_raise(silent_doc, edit, message):
    doc = copy.deepcopy(silent_doc)
    edit(doc)
    with pytest.raises(Malformed, match=message):
        recheck(doc)


def test_json_numbers_are_read_exactly(silent_doc):
    """A JSON number 0.5 is the rational 1/2 (parsed as a decimal, never as a float)."""
    text = json.dumps(silent_doc).replace('"payoffs": ["1/2", "1/2"]', '"payoffs": [0.5, 0.50]')
    assert '"payoffs": [0.5, 0.50]' in text
    assert check_document(load_document(text)).proven
    text = text.replace('"payoffs": [0.5, 0.50]', '"payoffs": [0.5000000000000001, 0.5]')
    assert check_document(load_document(text)).code == 1


# ============================================================================ the command line


def test_solve_certify_then_check(cli, tmp_path):
    out = tmp_path / "certs"
    res = cli("solve", "match_mismatch", "--regime", "anonymous", "--method", "enumerate", "--certify", str(out))
    assert res.code == 0, res.err
    files = sorted(out.glob("equilibrium-*.json"))
    assert len(files) == 4
    assert res.out.count("exact equilibrium; largest certified regret 0") == 4
    for path in files:
        res = cli("check", str(path))
        assert res.code == 0 and "equilibrium: proven" in res.out
    res = cli("check", str(files[0]), "--json", "--market", "match_mismatch")
    doc = json.loads(res.out)
    assert res.code == 0 and doc["proven"] and doc["regrets"] == ["0", "0"]
    assert doc["lines"][-1] == "market: the certificate's market is exactly match_mismatch"
    res = cli("check", str(files[0]), "--market", "prosecutor")
    assert res.code == 1 and "is NOT prosecutor" in res.out


def test_solve_certify_with_json_keeps_stdout_json(cli, tmp_path):
    res = cli("solve", "prosecutor", "--method", "enumerate", "--json", "--certify", str(tmp_path / "c"))
    assert res.code == 0, res.err
    json.loads(res.out)
    assert ": certificate " in res.err and "(exact equilibrium" in res.err


def test_check_unreadable_files_exit_2(cli, tmp_path):
    missing = cli("check", str(tmp_path / "none.json"))
    assert missing.code == 2 and missing.err.startswith("error: ") and len(missing.err.strip().splitlines()) == 1
    for text, message in [("{", "not JSON"), ("[1, 2]", "not a pluralign certificate"), ('{"format": "x"}', "not a pluralign certificate"),
                          ('{"format": "pluralign-certificate", "version": 1, "kind": "equilibrium", "market": {"x": NaN}}', "NaN")]:
        path = tmp_path / "bad.json"
        path.write_text(text)
        res = cli("check", str(path))
        assert res.code == 2 and message in res.err, res.err
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"format": "\xe9"}')
    assert cli("check", str(path)).code == 2


def test_no_exact_certificate_beyond_the_size_guard(cli, tmp_path):
    game = pa.ProviderGame(catalog.load("match_mismatch"), "anonymous", max_kinds=1)
    with pytest.raises(NoExactCertificate, match="heuristic beyond it certifies nothing"):
        certify(game, game.uninformative())


# ============================================================================ the checker stands alone


def test_checker_imports_only_the_standard_library_and_uses_no_float():
    tree = ast.parse(CHECK_PY.read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "contextlib", "dataclasses", "fractions", "hashlib", "itertools", "json", "re", "sys"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"float", "math", "numpy", "np"}
    floats = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, float)]
    assert floats == []


@pytest.mark.parametrize("name, regime, menus", [("forecast", "personalized", False), ("private_judge", "anonymous", True)])
def test_checker_runs_alone_without_pluralign_or_numpy(name, regime, menus, tmp_path):
    game = pa.ProviderGame(catalog.load(name), regime, menus=menus)
    path = certify(game, pa.enumerate_solve(game).verified[0].profile).save(tmp_path / "cert.json")
    script = (
        "import importlib.util, sys\n"
        "sys.modules['numpy'] = None; sys.modules['pluralign'] = None\n"
        f"spec = importlib.util.spec_from_file_location('check', {str(CHECK_PY)!r})\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['check'] = mod; spec.loader.exec_module(mod)\n"
        f"report = mod.check_file({str(path)!r}); print(report.text()); sys.exit(report.code)\n"
    )
    res = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "equilibrium: proven" in res.stdout


# ============================================================================ independent cross-check

CASES = [(regime, tie, ties, seed)
         for seed, (regime, tie, ties) in enumerate(itertools.product(("personalized", "anonymous"),
                                                                      ("lowest", "highest", "uniform"), ("rule", "deviator")))
         for seed in (seed, seed + 100, seed + 200)]


@pytest.mark.parametrize("regime, tie, ties, seed", CASES)
def test_certified_bounds_match_the_engine(regime, tie, ties, seed):
    """The exact bound is never below the engine's float supremum (− 1e-9) and within 1e-6 of it.

    The engine runs with tie tolerance 1e-12 — small enough that its relaxed thresholds move the
    supremum by ~1e-11 (the certificate has exact ties), large enough that float round-off still
    reads exact ties (identical schemes, dominant actions) as ties.
    """
    rng = np.random.default_rng(seed)
    market = catalog.random_market(seed, n_states=2 + seed % 2, n_actions=2 + (seed // 3) % 2, n_users=2 + (seed // 2) % 2,
                                   n_providers=2 + (seed % 5 == 4))
    mode = "usage" if seed % 4 == 1 else "actions"
    game = pa.ProviderGame(market, regime, rule=ResponseRule(provider_tie=tie, tol=1e-12), ties=ties, mode=mode)
    for profile in (game.random_profile(rng), game.full_revelation() if seed % 2 else game.uninformative()):
        cert = certify(game, profile)
        assert cert.report.problems == []
        assert min(cert.regrets) >= 0  # the current scheme is a deviation: the bound can never be below the payoff
        verification = game.verify(profile)
        engine = np.array([br.bound for br in verification.best_responses])
        exact = np.array([float(b) for b in cert.bounds])
        assert np.all(exact >= engine - 1e-9), (exact - engine)
        assert np.all(exact <= engine + 1e-6), (exact - engine)
        np.testing.assert_allclose([float(p) for p in cert.payoffs], verification.payoffs, atol=1e-9)


def test_inexact_sums_are_renormalized_exactly_and_said():
    market = pa.Market.from_arrays(prior=[1 / 3, 2 / 3], u=[[[1, 0], [0, 1]]], U=[[[0, 0], [1, 1]], [[1, 1], [0, 0]]])
    game = pa.ProviderGame(market, "personalized")
    cert = certify(game, game.full_revelation())
    notes = cert.document["market"]["renormalized"]
    assert notes and notes[0].startswith("prior: exact entries sum to 9999999999999999/10000000000000000")
    assert sum(Fraction(q) for q in cert.document["market"]["prior"]) == 1
    assert cert.proven and any("note: prior" in line for line in cert.report.lines)


# ============================================================================ alignment certificates


@pytest.mark.parametrize("offset", ["scalar", "state"])
@pytest.mark.parametrize("variant", ["cone", "simplex"])
@pytest.mark.parametrize("name", catalog.names())
def test_catalog_alignment_is_proven_exactly(name, variant, offset, tmp_path):
    market = catalog.load(name)
    cert = certify_alignment(market, variant=variant, offset=offset)
    report = check_file(cert.save(tmp_path / "align.json"))
    assert report.proven, report.text()
    assert all("(exact)" in line for line in report.lines[1:-1]), report.text()
    weak = pa.weak_alignment(market, variant=variant, offset=offset)
    exact = [Fraction(rec["epsilon"]) for rec in cert.document["weak"]]
    np.testing.assert_allclose([float(e) for e in exact], weak.epsilon, atol=1e-7)
    assert Fraction(cert.document["strong"]["epsilon"]) == Fraction(cert.document["strong"]["lower_bound"])


def test_alignment_numbers_of_the_theory_page():
    """docs/model.md §7: biased pair cone ε = 0 and simplex ε = 3/10; match/mismatch ε_S = 1/2."""
    assert certify_alignment(catalog.load("biased_pair")).document["weak"][0]["epsilon"] == "0"
    assert certify_alignment(catalog.load("biased_pair"), variant="simplex").document["weak"][0]["epsilon"] == "3/10"
    assert certify_alignment(catalog.load("match_mismatch")).document["strong"]["epsilon"] == "1/2"


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["weak"][0].update(epsilon="1/7"), "epsilon"),
        (lambda d: d["weak"][0]["weights"].__setitem__(0, "2/3"), "epsilon"),
        (lambda d: d["weak"][0]["dual"][0].__setitem__(0, str(Fraction(d["weak"][0]["dual"][0][0]) + Fraction(1, 9))), "dual"),
        (lambda d: d["strong"].update(lower_bound="1/3"), "lower bound"),
        (lambda d: d["strong"]["weights"].__setitem__(1, "-1"), "weights"),
    ],
)
def test_tampered_alignment_certificate_is_rejected(edit, fragment):
    doc = copy.deepcopy(certify_alignment(catalog.load("match_mismatch")).document)
    assert recheck(doc).proven
    edit(doc)
    report = recheck(doc)
    assert report.code == 1 and any(fragment in p for p in report.problems), report.problems


def test_align_certify_then_check(cli, tmp_path):
    path = tmp_path / "a.json"
    res = cli("align", "biased_pair", "--variant", "simplex", "--certify", str(path))
    assert res.code == 0, res.err
    res = cli("check", str(path))
    assert res.code == 0
    assert "WMA user: ε = 3/10 (exact)" in res.out and "alignment: proven" in res.out


def test_random_alignment_certificates_are_exact():
    """Beyond the catalog too, the exact fit and dual meet: ε is proven exactly."""
    for seed in range(4):
        market = catalog.random_market(seed, n_states=3, n_actions=3, n_users=3, n_providers=3, user_specific=True)
        cert = certify_alignment(market)
        assert cert.proven, cert.report.text()
        weak = pa.weak_alignment(market)
        for rec, eps in zip(cert.document["weak"], weak.epsilon):
            low, high = Fraction(rec["lower_bound"]), Fraction(rec["epsilon"])
            assert low == high and abs(float(high) - eps) < 1e-7  # exact: the active sets are solved exactly


@pytest.mark.parametrize("regime, tie, ties, seed", CASES[::3])
def test_no_deviation_beats_the_certified_bound(regime, tie, ties, seed):
    """A second, LP-free check: explicit deviations — the engine's best response, the others' schemes,
    full revelation and random schemes — scored exactly under the users' own rule never pay more
    than the certified bound; under ties="rule" the engine's best response comes within its tie margin of it."""
    rng = np.random.default_rng(seed)
    market = catalog.random_market(seed + 7, n_states=2 + seed % 2, n_actions=2 + seed % 3 // 2, n_users=2 + seed % 2)
    game = pa.ProviderGame(market, regime, rule=ResponseRule(provider_tie=tie), ties=ties)
    profile = game.random_profile(rng)
    cert = certify(game, profile)
    doc = cert.document
    mkt = checker.Market(doc["market"], [])
    st = checker.settings_of(doc["settings"], doc["version"])
    lay = checker.layout_of(mkt, regime, False)
    items = checker.items_of(doc, mkt, st, [])
    n_x, n_items = market.n_observations, lay.n_items
    for i in range(mkt.k):
        br = game.best_response(profile, i)
        policy = br.policy if regime == "personalized" else br.policy[None]
        candidates = [[build._scheme(policy[q]) for q in range(n_items)], [build._scheme(np.eye(n_x))] * n_items]
        candidates += [items[o] for o in range(mkt.k) if o != i]
        for _ in range(20):
            candidates.append([build._scheme(rng.dirichlet(np.full(3, 0.3), size=n_x)) for _ in range(n_items)])
        payoffs = []
        for cand in candidates:
            trial = [cand if o == i else items[o] for o in range(mkt.k)]
            payoffs.append(checker.respond(mkt, lay, trial, st).payoffs[i])
        assert max(payoffs) <= cert.bounds[i]
        if ties == "rule":  # "deviator" may win ties the users' rule never gives it: not attainable
            assert float(cert.bounds[i] - payoffs[0]) <= 1e-5  # attained up to the margin (1e-6) of explicit deviations


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _paths(value, prefix + (n,))


@pytest.mark.parametrize("name, regime, menus", [("forecast", "personalized", False), ("forecast", "anonymous", False),
                                                 ("private_judge", "personalized", True), ("private_judge", "anonymous", True)])
def test_mutated_certificates_never_crash_the_checker(name, regime, menus):
    """300 seeded mutations (a value replaced by another type, removed, or a list emptied): the checker
    answers with a report or a one-line Malformed, never another exception."""
    game = pa.ProviderGame(catalog.load(name), regime, menus=menus)
    base = certify(game, game.random_profile(np.random.default_rng(1))).document
    assert {e["kind"] for p in base["providers"] for e in p["lps"]} >= ({"attract", "menu"} if menus else {"attract"})
    paths = [p for p in _paths(base) if p]
    rng = np.random.default_rng(0)
    replacements = [None, True, 0, -1, 10**30, "x", "1/0", "-3/7", [], {}, [[]], "1e5", 0.5]
    outcomes = {"report": 0, "malformed": 0}
    for _ in range(300):
        doc = copy.deepcopy(base)
        path = paths[rng.integers(len(paths))]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = replacements[rng.integers(len(replacements))]
        try:
            check_document(load_document(json.dumps(doc)))
            outcomes["report"] += 1
        except Malformed as exc:
            assert "\n" not in str(exc) and not str(exc).startswith("unexpected structure"), str(exc)
            outcomes["malformed"] += 1
    assert outcomes["report"] > 0 and outcomes["malformed"] > 0
