"""``pluralign solve``: JSON shape, verified equilibria only, the §9 numbers, one-line errors."""

from __future__ import annotations

import json

import pytest

from pluralign import catalog


def solve_json(cli, *args):
    res = cli("solve", *args, "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_match_mismatch_anonymous_shows_the_uninformative_equilibrium(cli):
    doc = solve_json(cli, "match_mismatch", "--regime", "anonymous", "--method", "enumerate")
    assert doc["regime"] == "anonymous"
    eqs = doc["equilibria"]
    assert eqs and all(e["verified"] for e in eqs)
    silent = [e for e in eqs if all(p["summary"] == "no information" for p in e["policies"].values())]
    (eq,) = silent
    for user in ("matcher", "mismatcher"):
        row = eq["users"][user]
        assert row["utility"] == pytest.approx(0.5) and row["opt"] == pytest.approx(1.0)
        assert row["gap"] == pytest.approx(0.5)
        assert set(row) >= {"utility", "opt", "gap", "bound", "bound_holds"}
    assert eq["guarantee"]["guarantee"] == "C" and eq["guarantee"]["holds"]
    for provider in ("match_ai", "mismatch_ai"):
        assert eq["providers"][provider]["regret"] <= 1e-6
        assert set(eq["providers"][provider]) >= {"payoff", "regret"}


@pytest.mark.parametrize("method", ["dynamics", "enumerate"])
def test_match_mismatch_personalized_every_equilibrium_gives_one(cli, method):
    doc = solve_json(cli, "match_mismatch", "--regime", "personalized", "--method", method, "--seed", "4")
    assert doc["equilibria"]
    for eq in doc["equilibria"]:
        assert eq["verified"]
        for row in eq["users"].values():
            assert row["utility"] == pytest.approx(1.0)
            assert row["bound"] == pytest.approx(1.0, abs=1e-6) and row["bound_holds"] is True


@pytest.mark.parametrize("name", catalog.names())
def test_guarantee_a_holds_for_every_catalog_market(cli, name):
    doc = solve_json(cli, name, "--regime", "personalized", "--max-rounds", "10")
    assert doc["equilibria"], "at least one verified equilibrium"
    for eq in doc["equilibria"]:
        assert eq["verified"] and eq["guarantee"]["holds"]
        assert all(row["bound_holds"] for row in eq["users"].values())


def test_table_output(cli):
    res = cli("solve", "prosecutor", "--regime", "anonymous", "--max-rounds", "5")
    assert res.code == 0, res.err
    for text in ("verified", "judge", "prosecutor", "defence", "regret (certified)", "full revelation", "tie rule"):
        assert text in res.out
    assert "run from uninformative:" in res.out and "converged" in res.out  # every run reports how it ended


def test_options_are_passed_through(cli):
    doc = solve_json(cli, "biased_pair", "--provider-tie", "highest", "--action-tie", "recommended",
                     "--mode", "usage", "--order", "simultaneous", "--random-starts", "0", "--max-rounds", "5",
                     "--ties", "deviator")
    assert doc["tie_rule"]["provider_tie"] == "highest" and doc["tie_rule"]["action_tie"] == "recommended"
    assert doc["mode"] == "usage" and doc["parameters"]["order"] == "simultaneous"
    assert doc["parameters"]["ties"] == "deviator"
    assert all(eq["ties"] == "deviator" for eq in doc["equilibria"])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["prosecutor", "--regime", "mixed"], "--regime"),
        (["prosecutor", "--method", "magic"], "--method"),
        (["prosecutor", "--mode", "both"], "--mode"),
        (["prosecutor", "--action-tie", "random"], "--action-tie"),
        (["prosecutor", "--provider-tie", "random"], "--provider-tie"),
        (["prosecutor", "--tol", "-1"], "--tol"),
        (["prosecutor", "--tol", "nan"], "--tol"),
        (["prosecutor", "--tol", "inf"], "--tol"),
        (["prosecutor", "--margin", "nan"], "--margin"),
        (["prosecutor", "--margin", "inf"], "--margin"),
        (["prosecutor", "--margin", "1e308"], "--margin"),
        (["prosecutor", "--seed", "-1"], "--seed"),
        (["prosecutor", "--max-rounds", "0"], "--max-rounds"),
        (["prosecutor", "--max-rounds", "100000000"], "--max-rounds"),
        (["prosecutor", "--random-starts", "1000000"], "--random-starts"),
        (["prosecutor", "--ties", "users"], "--ties"),
        (["no_such_market"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, needle):
    res = cli("solve", *args)
    assert res.code == 2
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_size_guard_is_bad_input(cli, tmp_path):
    from pluralign.catalog import random_market
    from pluralign.model.io import save_market

    path = tmp_path / "big.yaml"
    save_market(random_market(0, n_states=7, n_actions=2, n_users=1, n_providers=4), path)
    res = cli("solve", str(path), "--method", "enumerate", "--regime", "anonymous")
    assert res.code == 2 and "max_profiles" in res.err


def test_uniform_ties_split_the_user_and_refuse_the_false_certificate(cli, tmp_path):
    """Issue 8's counterexample through the CLI: full revelation by both is not verified under
    uniform ties, and a split user is shown as split."""
    path = tmp_path / "split.yaml"
    path.write_text(
        "name: split\nstates: [y0, y1, y2]\nprior: [0.3333333333333333, 0.3333333333333333, 0.3333333333333334]\n"
        "actions: [a0, a1]\nusers:\n- name: user\n  mass: 1\n  utility: {a0: [1, 0, 1], a1: [1, 1, 0]}\n"
        "providers:\n- name: wants_a1\n  utility: {a0: [0, 0, 0], a1: [1, 1, 1]}\n"
        "- name: wants_a0\n  utility: {a0: [1, 1, 1], a1: [0, 0, 0]}\n"
    )
    doc = solve_json(cli, str(path), "--provider-tie", "uniform", "--method", "enumerate")
    for eq in doc["equilibria"]:
        fr = all(p["user"]["summary"] == "full revelation" for p in eq["policies"].values())
        assert not fr, "full revelation by both must not verify under uniform ties"
    res = cli("solve", str(path), "--provider-tie", "uniform", "--method", "enumerate")
    assert res.code == 0 and "wants_a1 0.5, wants_a0 0.5" in res.out
    assert "uniform" in cli("solve", "--help").out
