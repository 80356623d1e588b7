"""The command line: analyze and validate (exit codes, JSON shape, one-line errors)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pluralign import catalog

EXPECTED = {
    # market -> {user: (opt, noinfo, {provider: (user utility, provider utility)})}
    "prosecutor": {"judge": (1.0, 0.7, {"prosecutor": (0.7, 0.6), "defence": (0.7, 1.0)})},
    "match_mismatch": {
        "matcher": (1.0, 0.5, {"match_ai": (1.0, 1.0), "mismatch_ai": (0.5, 0.5)}),
        "mismatcher": (1.0, 0.5, {"match_ai": (0.5, 0.5), "mismatch_ai": (1.0, 1.0)}),
    },
    "biased_pair": {"user": (1.0, 0.5, {"biased_to_1": (0.5, 0.8), "biased_to_0": (0.5, 0.8)})},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_analyze_json_numbers(cli, name):
    res = cli("analyze", name, "--json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data["market"] == name
    for user in data["users"]:
        opt_, noinfo_, mono = EXPECTED[name][user["name"]]
        assert user["opt"] == pytest.approx(opt_, abs=1e-9)
        assert user["noinfo"] == pytest.approx(noinfo_, abs=1e-9)
        for provider, (uu, pu) in mono.items():
            assert user["monopoly"][provider]["user_utility"] == pytest.approx(uu, abs=1e-7)
            assert user["monopoly"][provider]["provider_utility"] == pytest.approx(pu, abs=1e-7)


@pytest.mark.parametrize("name", catalog.names())
def test_analyze_tables_for_every_catalog_market(cli, name):
    res = cli("analyze", name)
    assert res.code == 0, res.err
    m = catalog.load(name)
    for user in m.users:
        assert f"user {user}" in res.out
    assert "OPT" in res.out and "NOINFO" in res.out


def test_analyze_accepts_a_file(cli, tmp_path):
    path = catalog.path("prosecutor")
    res = cli("analyze", str(path), "--json")
    assert res.code == 0 and json.loads(res.out)["users"][0]["opt"] == 1.0


def test_malformed_file_gives_one_line_and_exit_2(cli, tmp_path):
    text = catalog.path("prosecutor").read_text().replace("convict: [0, 1]", "convict: [0, 1, 0]")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    res = cli("analyze", str(bad))
    assert res.code == 2
    assert res.out == ""
    lines = res.err.strip().splitlines()
    assert len(lines) == 1
    assert "users[0].utility.convict: expected 2 values (one per state), got 3" in lines[0]
    assert lines[0].startswith(f"error: {bad}:")


def test_missing_market(cli):
    res = cli("analyze", "no-such-market")
    assert res.code == 2 and "no such file" in res.err and len(res.err.strip().splitlines()) == 1


def test_validate_lists_every_problem(cli, tmp_path):
    text = (
        catalog.path("match_mismatch").read_text()
        .replace("prior: [0.5, 0.5]", "prior: [0.5, 0.6]")
        .replace("mass: 0.5\n  utility:\n    left: [0, 1]", "mass: -1\n  utility:\n    left: [0, 1]")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    res = cli("validate", str(bad))
    assert res.code == 2
    assert "prior: prior probabilities must sum to 1" in res.err
    assert "users[1].mass: mass must be a positive number" in res.err
    assert "2 problems" in res.err
    ok = cli("validate", str(catalog.path("forecast")))
    assert ok.code == 0 and "valid market" in ok.out
    js = cli("validate", str(bad), "--json")
    assert js.code == 2 and len(json.loads(js.out)["problems"]) == 2


def test_usage_errors_exit_2_without_traceback(cli):
    res = cli("analyze")
    assert res.code == 2 and "Traceback" not in res.err
    res = cli("analyze", "prosecutor", "--margin", "-1")
    assert res.code == 2 and "--margin" in res.err


def test_console_script_runs_without_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"states": ["a"], "prior": [2]}')
    proc = subprocess.run(
        [sys.executable, "-m", "pluralign", "analyze", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
