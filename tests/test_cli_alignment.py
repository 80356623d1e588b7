"""The align, coverage, anes and movielens commands."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import typer

from pluralign.workflows.cli import app, run


def invoke(capsys, *argv):
    code = run(typer.main.get_command(app), list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_align_json_shape(capsys):
    code, out, _ = invoke(capsys, "align", "match_mismatch", "--json")
    assert code == 0
    d = json.loads(out)
    assert set(d) == {"variant", "users", "strong"}
    assert d["variant"] == "cone"
    assert [u["name"] for u in d["users"]] == ["matcher", "mismatcher"]
    for u in d["users"]:
        assert set(u) == {"name", "epsilon", "weights", "offset"}
        assert u["epsilon"] == pytest.approx(0.0, abs=1e-9)
        assert set(u["weights"]) == {"match_ai", "mismatch_ai"}
    assert set(d["strong"]) == {"epsilon", "weights", "offsets"}
    assert d["strong"]["epsilon"] == pytest.approx(0.5)
    assert set(d["strong"]["offsets"]) == {"matcher", "mismatcher"}


def test_align_simplex_and_table(capsys):
    code, out, _ = invoke(capsys, "align", "biased_pair", "--variant", "simplex", "--json")
    assert code == 0 and json.loads(out)["users"][0]["epsilon"] == pytest.approx(0.3)
    code, out, _ = invoke(capsys, "align", "biased_pair")
    assert code == 0
    assert "Weak Market Alignment" in out and "biased_to_1 1.25" in out and "verified" in out


def test_align_market_file_and_state_offset(capsys, tmp_path):
    from pluralign import catalog
    from pluralign.model.io import save_market

    path = save_market(catalog.load("forecast"), tmp_path / "f.json")
    code, out, _ = invoke(capsys, "align", str(path), "--offset", "state", "--json")
    d = json.loads(out)
    assert code == 0 and set(d["users"][0]["offset"]) == {"sunny", "rainy"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (("align", "nowhere"), "no such file"),
        (("align", "prosecutor", "--variant", "ball"), "--variant must be one of cone, simplex"),
        (("align", "prosecutor", "--method", "cplex"), "--method"),
        (("coverage",), "give either a SCORES file or --market"),
        (("coverage", "x.csv"), "--target COLUMN is required"),
        (("coverage", "x.csv", "--target", "t"), "x.csv: no such file"),
        (("coverage", "--market", "prosecutor", "--loss", "huber"), "--loss must be one of"),
        (("coverage", "--market", "prosecutor", "--test-fraction", "1.5"), "--test-fraction"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv, message):
    code, out, err = invoke(capsys, *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _scores_csv(path, seed=0):
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person", "item", "rating", "m0", "m1", "m2"])
        for person, lam in (("ann", [0.7, 0.3, 0.0]), ("bo", [0.0, 0.2, 0.8])):
            for item in range(20):
                s = rng.random(3)
                w.writerow([person, item, float(s @ lam), *s])
    return path


def test_coverage_csv(capsys, tmp_path):
    path = _scores_csv(tmp_path / "scores.csv")
    code, out, _ = invoke(capsys, "coverage", str(path), "--target", "rating", "--group", "person", "--json", "--subsets", "2")
    assert code == 0
    d = json.loads(out)
    assert d["models"] == ["m0", "m1", "m2"]  # person is text, item is the identifier
    assert [g["name"] for g in d["groups"]] == ["ann", "bo"]
    assert all(g["test_error"] == pytest.approx(0.0, abs=1e-6) for g in d["groups"])
    assert [p["k"] for p in d["diversity"]] == [1, 2, 3]
    code, out, _ = invoke(capsys, "coverage", str(path), "--target", "rating", "--group", "person", "--loss", "l2", "--models", "m0,m1")
    assert code == 0 and "Diversity curve" in out and "ann" in out
    code, _, err = invoke(capsys, "coverage", str(path), "--target", "rating", "--models", "m0,zz")
    assert code == 2 and "no model column 'zz'" in err


def test_coverage_market(capsys):
    code, out, _ = invoke(capsys, "coverage", "--market", "match_mismatch", "--test-fraction", "0", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["target"] == "utility" and d["group"] == "user"
    assert [g["train_error"] for g in d["groups"]] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_anes_commands(capsys, tmp_path):
    pytest.importorskip("statsmodels")
    code, out, _ = invoke(capsys, "align", "anes96", "--json")
    assert code == 0 and len(json.loads(out)["users"]) == 7
    code, out, err = invoke(capsys, "anes", "--save", str(tmp_path / "anes.yaml"), "--json")
    assert code == 0 and "wrote" in err and (tmp_path / "anes.yaml").is_file()
    code, out, _ = invoke(capsys, "align", str(tmp_path / "anes.yaml"), "--json")
    assert code == 0 and json.loads(out)["users"][3]["name"] == "moderate"
    code, out, _ = invoke(capsys, "coverage", "--market", "anes96", "--loss", "l1", "--subsets", "2")
    assert code == 0 and "extremely_liberal" in out


def test_movielens_command(capsys, tmp_path):
    from test_data import write_ml100k

    write_ml100k(tmp_path / "ml-100k")
    out_csv = tmp_path / "ml.csv"
    code, out, _ = invoke(capsys, "movielens", str(tmp_path / "ml-100k"), "--out", str(out_csv), "--min-ratings", "10", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["kind"] == "ml-100k" and out_csv.is_file() and len(summary["personas"]) == 3
    code, out, _ = invoke(capsys, "coverage", str(out_csv), "--target", "rating", "--group", "user", "--loss", "l2", "--json", "--subsets", "2")
    assert code == 0 and json.loads(out)["models"] == summary["personas"]
    (tmp_path / "empty").mkdir()
    code, _, err = invoke(capsys, "movielens", str(tmp_path / "empty"), "--out", str(out_csv))
    assert code == 2 and "not a MovieLens folder" in err


def test_coverage_parquet(capsys, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    s = rng.random((30, 2))
    pq.write_table(pa.table({"item": np.arange(30), "a": s[:, 0], "b": s[:, 1], "t": 0.3 * s[:, 0] + 0.6 * s[:, 1]}), tmp_path / "s.parquet")
    code, out, _ = invoke(capsys, "coverage", str(tmp_path / "s.parquet"), "--target", "t", "--json", "--subsets", "2")
    d = json.loads(out)
    assert code == 0 and d["models"] == ["a", "b"]
    assert d["groups"][0]["weights"] == pytest.approx({"a": 0.3, "b": 0.6}, abs=1e-6)
