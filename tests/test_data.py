"""Real-data loaders: tables, the ANES 1996 market, MovieLens folders (synthetic, written by the tests)."""

from __future__ import annotations

import csv
import importlib

import numpy as np
import pytest

import pluralign.data as data
from pluralign.analysis.alignment import weak_alignment
from pluralign.analysis.ensembles import coverage_from_columns
from pluralign.data import MissingExtra, anes_market, genre_personas, load_movielens, read_table, write_csv
from pluralign.data.anes import scenario_of
from pluralign.data.movielens import ML100K_GENRES

# --------------------------------------------------------------------------- tables


def test_csv_round_trip(tmp_path):
    cols = {"item": [1, 2], "name": ["a, b", "c"], "score": [0.1, None]}
    path = write_csv(cols, tmp_path / "t.csv")
    back = read_table(path)
    assert back == {"item": ["1", "2"], "name": ["a, b", "c"], "score": ["0.1", None]}


def test_tsv_and_errors(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n\n3\t4\n")
    assert read_table(tmp_path / "t.tsv") == {"a": ["1", "3"], "b": ["2", "4"]}
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3: 1 fields but the header has 2"):
        read_table(tmp_path / "ragged.csv")
    (tmp_path / "dup.csv").write_text("a,a\n1,2\n")
    with pytest.raises(ValueError, match="duplicate column names a"):
        read_table(tmp_path / "dup.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty file"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "t.xlsx").write_text("")
    with pytest.raises(ValueError, match="unknown table format"):
        read_table(tmp_path / "t.xlsx")


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"item": [1, 2, 3], "t": [0.1, 0.5, 0.9], "m": [0.0, 0.5, 1.0]}), tmp_path / "s.parquet")
    cols = read_table(tmp_path / "s.parquet")
    assert cols["t"] == [0.1, 0.5, 0.9]
    report = coverage_from_columns(cols, "t", exclude=["item"], test_fraction=0.0)
    assert report.models == ("m",) and report["all"].train_error == pytest.approx(0.0, abs=1e-9)


def _hide(monkeypatch, prefix):
    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name.startswith(prefix):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake)


def test_missing_extras_say_how_to_install(monkeypatch, tmp_path):
    _hide(monkeypatch, "pyarrow")
    (tmp_path / "s.parquet").write_bytes(b"PAR1")
    with pytest.raises(MissingExtra, match=r"pip install 'pluralign\[data\]'"):
        read_table(tmp_path / "s.parquet")
    _hide(monkeypatch, "statsmodels")
    with pytest.raises(MissingExtra, match=r"ANES 1996.*statsmodels.*pip install 'pluralign\[data\]'"):
        anes_market()


def test_market_table():
    from pluralign import catalog

    m = catalog.load("prosecutor")
    t = data.market_table(m)
    assert list(t) == ["user", "action", "state", "prior", "utility", "prosecutor", "defence"]
    assert len(t["user"]) == 4 and t["prior"][:2] == [0.7, 0.3]


# --------------------------------------------------------------------------- ANES


def test_anes_market_from_given_columns():
    cols = {
        "selfLR": [2, 2, 4, 6, 6, 6],
        "PID": [0, 1, 3, 5, 6, 6],
        "ClinLR": [3, 3, 3, 2, 3, 3],
        "DoleLR": [6, 6, 5, 6, 6, 6],
        "vote": [0, 0, 0, 1, 1, 1],
    }
    m = anes_market(data=cols)
    assert m.users == ("liberal", "moderate", "conservative")
    assert m.p.tolist() == pytest.approx([2 / 6, 1 / 6, 3 / 6])
    assert m.states == ("C2-D6", "C3-D5", "C3-D6") and m.prior.tolist() == pytest.approx([1 / 6, 1 / 6, 4 / 6])
    # a liberal (θ = 2) voting Clinton at position 3: 1 − 1/6
    assert m.u[0, 0, 1] == pytest.approx(5 / 6)
    weak = weak_alignment(m)
    assert weak.epsilon == pytest.approx([0, 0, 0], abs=1e-9)  # each group has an adviser at its ideal point
    with pytest.raises(ValueError, match="ideologues"):
        anes_market(data=cols, ideologues=[9])
    with pytest.raises(ValueError, match="grouping"):
        anes_market(data=cols, grouping="age")


def test_anes96_from_statsmodels():
    pytest.importorskip("statsmodels")
    m = anes_market()
    assert m.n_users == 7 and m.n_actions == 2 and m.n_providers == 5
    assert m.p.sum() == pytest.approx(1.0) and m.p[3] == pytest.approx(256 / 944)
    weak = weak_alignment(m)
    eps = dict(zip(m.users, weak.epsilon))
    for covered in ("liberal", "moderate", "conservative"):
        assert eps[covered] == pytest.approx(0.0, abs=1e-9)
    assert eps["extremely_liberal"] > 0.1 and eps["slightly_liberal"] > 0
    assert weak.verify().ok
    quad = weak_alignment(anes_market(utility="quadratic"))
    # quadratic utilities are affine in the ideal point: voters between advisers are covered exactly
    assert quad.epsilon[1:6] == pytest.approx(0.0, abs=1e-9)
    pid = anes_market("PID")
    assert pid.users[0] == "strong_democrat" and pid.n_users == 7


# --------------------------------------------------------------------------- MovieLens

GENRES = ("Action", "Comedy", "Drama")


def _synthetic_ratings(seed=0, n_users=40, n_movies=30):
    rng = np.random.default_rng(seed)
    movie_genre = rng.integers(0, 3, n_movies)
    rows = []
    for user in range(1, n_users + 1):
        fav = user % 3
        for movie in rng.choice(n_movies, size=25, replace=False):
            base = 4.5 if movie_genre[movie] == fav else 2.0
            rating = int(np.clip(round(base + rng.normal(0, 0.5)), 1, 5))
            rows.append((user, int(movie) + 1, rating, 880000000 + len(rows)))
    return movie_genre, rows


def write_ml100k(folder, seed=0):
    folder.mkdir()
    movie_genre, rows = _synthetic_ratings(seed)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))
    lines = []
    for k, g in enumerate(movie_genre):
        flags = ["0"] * len(ML100K_GENRES)
        flags[ML100K_GENRES.index(GENRES[g])] = "1"
        lines.append("|".join([str(k + 1), f"Movie {k + 1} (1995)", "01-Jan-1995", "", "http://x"] + flags))
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    (folder / "u.genre").write_text("".join(f"{g}|{k}\n" for k, g in enumerate(ML100K_GENRES)) + "\n")
    return rows


def write_ml_latest(folder, seed=0):
    folder.mkdir()
    movie_genre, rows = _synthetic_ratings(seed)
    with (folder / "ratings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        w.writerows((u, i, r - 0.5 if r > 1 else r, t) for u, i, r, t in rows)
    with (folder / "movies.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "title", "genres"])
        w.writerows((k + 1, f"Movie {k + 1}, The (1995)", GENRES[g] + ("|IMAX" if k == 0 else "")) for k, g in enumerate(movie_genre))
    return rows


def test_load_ml100k(tmp_path):
    rows = write_ml100k(tmp_path / "ml-100k")
    ml = load_movielens(tmp_path)  # the parent folder works too
    assert ml.kind == "ml-100k" and ml.rating.size == len(rows)
    assert ml.n_users == 40 and ml.n_items <= 30 and ml.scale == (1.0, 5.0)
    assert ml.genres == ML100K_GENRES
    assert ml.scaled.min() >= 0 and ml.scaled.max() <= 1
    assert ml.item_genres.sum(axis=1).tolist() == [1] * ml.n_items
    assert ml.titles[0].startswith("Movie") and "ml-100k" in repr(ml)


def test_load_ml_latest(tmp_path):
    rows = write_ml_latest(tmp_path / "ml-latest-small")
    ml = load_movielens(tmp_path / "ml-latest-small")
    assert ml.kind == "ml-latest" and ml.rating.size == len(rows) and ml.scale == (0.5, 5.0)
    assert ml.genres == ("Action", "Comedy", "Drama", "IMAX")
    assert ml.titles[0] == "Movie 1, The (1995)"


def test_movielens_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a MovieLens folder"):
        load_movielens(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "u.data").write_text("1\t2\t3\t4\n1\t2\n")
    with pytest.raises(ValueError, match="line 2"):
        load_movielens(bad)
    (bad / "u.data").write_text("1\t2\t9\t4\n")
    with pytest.raises(ValueError, match="outside the scale"):
        load_movielens(bad)


def test_genre_personas_and_coverage(tmp_path):
    write_ml100k(tmp_path / "ml")
    ml = load_movielens(tmp_path / "ml")
    table = genre_personas(ml, seed=1, min_user_ratings=10)
    personas = [c for c in table if c.startswith("fans_of_")]
    assert set(personas) == {"fans_of_action", "fans_of_comedy", "fans_of_drama"}
    assert table == genre_personas(ml, seed=1, min_user_ratings=10)
    users = set(table["user"])
    assert 0 < len(users) < 40  # persona raters are not targets
    assert all(0 <= x <= 1 for x in table["rating"])
    small = genre_personas(ml, seed=1, min_user_ratings=10, max_targets=3)
    assert len(set(small["user"])) == 3
    report = coverage_from_columns(table, "rating", group="user", exclude=["item"], loss="l2", n_subsets=2)
    assert report.models == tuple(personas) and len(report) == len(users)
    # each synthetic user loves one genre: the fans of that genre cover her better than the average does
    assert report.mean_error < np.mean([g.average_test_error for g in report])
    with pytest.raises(ValueError, match="min_user_ratings"):
        genre_personas(ml, min_user_ratings=1000)


# --------------------------------------------------------------------------- ANES: many types, coarse states

OLD_SELFLR_DESCRIPTION = (
    "ANES 1996 (944 respondents, statsmodels.datasets.anes96). States: perceived positions of Clinton and Dole "
    "on the 1-7 liberal-conservative scale; users: voters grouped by selfLR with linear utility around their ideal "
    "points (extremely_liberal 1.00, liberal 2.00, slightly_liberal 3.00, moderate 4.00, slightly_conservative 5.00, "
    "conservative 6.00, extremely_conservative 7.00)."
)
CROSS_COLS = {
    # (selfLR, PID) cells: (2, 0) ×2, (4, 3), (6, 6) ×2, (6, 5); the (4, 3) voter sees both candidates at distance 1
    "selfLR": [2, 2, 4, 6, 6, 6],
    "PID": [0, 0, 3, 6, 6, 5],
    "ClinLR": [3, 3, 3, 2, 3, 5],
    "DoleLR": [6, 6, 5, 6, 6, 6],
    "vote": [0, 0, 0, 1, 1, 1],
}


def _positions(market):
    """(Clinton, Dole) positions parsed from the fine state names 'C3-D5' (independent of the module)."""
    return np.array([[float(s[1]), float(s.split("-D")[1])] for s in market.states])


def test_anes_cross_groups_and_scenarios_from_given_columns():
    m = anes_market("selfLR_PID", data=CROSS_COLS)
    assert m.users == (
        "liberal/strong_democrat",
        "moderate/independent",
        "conservative/weak_republican",
        "conservative/strong_republican",
    )
    assert m.p.tolist() == pytest.approx([2 / 6, 1 / 6, 1 / 6, 2 / 6])
    assert m.n_states == 4  # fine states: C2-D6, C3-D5, C3-D6, C5-D6
    c = anes_market("selfLR_PID", states="scenarios", data=CROSS_COLS)
    # rows (C, D): (3, 6) ×3 and (5, 6) put Clinton nearer 4; (3, 5) and (2, 6) are tied; none is reversed
    assert c.states == ("clinton_nearer_centre", "dole_nearer_or_tied")
    assert c.prior.tolist() == pytest.approx([4 / 6, 2 / 6])
    # the liberal (θ = 2) voting Clinton, Clinton nearer the centre: positions 3, 3, 3, 5 with equal weight
    assert c.u[0, 0, 0] == pytest.approx(np.mean([1 - abs(2 - x) / 6 for x in (3, 3, 3, 5)]))
    # the moderate is indifferent when tied: distance 1 in one row, 2 in the other
    assert c.u[1, :, 1].tolist() == pytest.approx([0.75, 0.75])
    assert c.providers[3] == "moderate_adviser" and c.U[3, :, 1, 0] == pytest.approx(1 - 2 / 6)  # Dole is always at 6
    # usual order: who is nearer 4 (ties to Dole); Dole at or left of Clinton: reversed, wherever the centre is
    assert scenario_of([3, 3, 2, 4, 3, 5, 4, 4], [6, 5, 6, 5, 4, 4, 4, 1]).tolist() == [0, 1, 1, 0, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="states"):
        anes_market(data=CROSS_COLS, states="centre")
    with pytest.raises(ValueError, match="partisanship"):
        anes_market(data=CROSS_COLS, partisanship=1.5)


def _anes_frame():
    datasets = pytest.importorskip("statsmodels.datasets")
    return datasets.anes96.load_pandas().data


def test_anes96_cross_groups_coarse_states_by_hand():
    """Masses, scenario shares and every group's coarse utility straight from the survey rows (pandas)."""
    df = _anes_frame().copy()
    from pluralign.data.anes import SCENARIOS

    w = 0.3
    m = anes_market("selfLR_PID", states="scenarios", partisanship=w)
    cells = df.groupby(["selfLR", "PID"]).size()
    assert m.n_users == len(cells) == 46  # 49 cells, 3 empty: no extreme liberal leans or is Republican
    assert "extremely_liberal/strong_republican" not in m.users
    assert m.p.tolist() == pytest.approx((cells / len(df)).tolist()) and m.p.sum() == pytest.approx(1.0)

    def scenario(row):
        if row.DoleLR <= row.ClinLR:
            return "reversed"
        return "clinton_nearer_centre" if abs(row.ClinLR - 4) < abs(row.DoleLR - 4) else "dole_nearer_or_tied"

    df["scenario"] = df.apply(scenario, axis=1)
    assert m.states == SCENARIOS
    assert df.scenario.value_counts()[list(SCENARIOS)].tolist() == [348, 454, 142]
    assert m.prior.tolist() == pytest.approx([348 / 944, 454 / 944, 142 / 944])
    # group (θ, π): within a scenario, the mean over every respondent there (the perception prior) of the spatial
    # utility of her perceived positions, then the loyalty term of the group's party identification
    for (theta, pid), j in zip(cells.index, range(m.n_users)):
        spatial = df.assign(c=1 - (theta - df.ClinLR).abs() / 6, d=1 - (theta - df.DoleLR).abs() / 6)
        mean = spatial.groupby("scenario")[["c", "d"]].mean().loc[list(SCENARIOS)]
        assert m.u[j, 0] == pytest.approx(((1 - w) * mean.c + w * (1 - pid / 6)).to_numpy(), abs=1e-12)
        assert m.u[j, 1] == pytest.approx(((1 - w) * mean.d + w * pid / 6).to_numpy(), abs=1e-12)
    # one by hand in full: slightly conservative independent Republicans, voting Dole when the order is reversed
    j = m.users.index("slightly_conservative/independent_republican")
    rows = df[(df.DoleLR <= df.ClinLR)]
    assert m.u[j, 1, 2] == pytest.approx(0.7 * np.mean(1 - np.abs(5 - rows.DoleLR) / 6) + 0.3 * 4 / 6)
    # advisers likewise: the liberal adviser (φ = 2) voting Clinton
    lib = m.providers.index("liberal_adviser")
    by_hand = df.assign(c=1 - (2 - df.ClinLR).abs() / 6).groupby("scenario").c.mean().loc[list(SCENARIOS)]
    assert m.U[lib, 0, 0] == pytest.approx(by_hand.to_numpy(), abs=1e-12)
    assert m.u.min() >= 0 and m.u.max() <= 1 and m.U.min() >= 0 and m.U.max() <= 1


@pytest.mark.parametrize("utility", ["linear", "quadratic"])
@pytest.mark.parametrize("partisanship", [0.0, 0.5])
def test_anes96_coarse_utilities_are_prior_weighted_means_of_fine(utility, partisanship):
    _anes_frame()
    fine = anes_market("selfLR_PID", utility=utility, partisanship=partisanship)
    coarse = anes_market("selfLR_PID", utility=utility, partisanship=partisanship, states="scenarios")
    assert fine.n_states == 47 and coarse.n_states == 3 and fine.users == coarse.users
    assert fine.p.tolist() == coarse.p.tolist()
    positions = _positions(fine)
    distance = np.abs(positions - 4)
    usual = positions[:, 1] > positions[:, 0]
    member = {
        "clinton_nearer_centre": usual & (distance[:, 0] < distance[:, 1]),
        "dole_nearer_or_tied": usual & (distance[:, 0] >= distance[:, 1]),
        "reversed": ~usual,
    }
    for s, name in enumerate(coarse.states):
        inside = member[name]
        assert coarse.prior[s] == pytest.approx(fine.prior[inside].sum())
        weights = fine.prior[inside] / fine.prior[inside].sum()
        assert coarse.u[:, :, s] == pytest.approx(fine.u[:, :, inside] @ weights, abs=1e-12)  # every group
        assert coarse.U[..., s] == pytest.approx(fine.U[..., inside] @ weights, abs=1e-12)  # every adviser
    # full information is worth at least as much as knowing the scenario; for the extreme voters (who need only the
    # candidates' order) exactly as much when their utility is spatial
    opt_fine = (fine.prior * fine.u.max(axis=1)).sum(axis=1)
    opt_coarse = (coarse.prior * coarse.u.max(axis=1)).sum(axis=1)
    assert np.all(opt_coarse <= opt_fine + 1e-12) and np.any(opt_coarse < opt_fine - 1e-3)
    if partisanship == 0:
        extreme = np.array([name.startswith("extremely_") for name in fine.users])
        assert extreme.sum() == 11 and opt_coarse[extreme] == pytest.approx(opt_fine[extreme], abs=1e-12)
        # the scenario matters to every group: each votes differently in two of them
        assert all(len(set(coarse.u[j].argmax(axis=0))) > 1 for j in range(coarse.n_users))
        # the population's value of information kept by the scenarios (docs/alignment.md: 86%, 91%)
        noinfo = (fine.prior * fine.u).sum(axis=2).max(axis=1)
        kept = fine.p @ (opt_coarse - noinfo) / (fine.p @ (opt_fine - noinfo))
        assert kept == pytest.approx(0.857 if utility == "linear" else 0.909, abs=1e-3)
    # without party loyalty the 46 cells are only 7 distinct types (θ alone sets the utility); with it, 46
    distinct = np.unique(coarse.u.reshape(coarse.n_users, -1).round(12), axis=0)
    assert len(distinct) == (7 if partisanship == 0 else 46)


def test_anes96_defaults_unchanged():
    _anes_frame()
    m = anes_market()
    assert m.equals(anes_market("selfLR", utility="linear", states="pairs", partisanship=0.0))
    assert m.description == OLD_SELFLR_DESCRIPTION
    assert m.n_states == 47 and m.states[:2] == ("C1-D2", "C1-D3")
    # fingerprints of the market as built before the options existed
    assert float(m.u.sum()) == pytest.approx(409.8333333333333, abs=1e-9)
    assert float(m.U.sum()) == pytest.approx(1951.8333333333335, abs=1e-9)
    assert float(anes_market("PID", utility="quadratic").u.sum()) == pytest.approx(574.7990820229923, abs=1e-9)
    assert anes_market("PID").users == (
        "strong_democrat", "weak_democrat", "independent_democrat", "independent",
        "independent_republican", "weak_republican", "strong_republican",
    )


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_anes96_coarse_market_file_round_trip(tmp_path, suffix):
    from pluralign.model.io import load_market, save_market

    _anes_frame()
    m = anes_market("selfLR_PID", states="scenarios", partisanship=0.5)
    back = load_market(save_market(m, tmp_path / f"anes.{suffix}"))
    assert back.equals(m)


def test_anes_command_saves_the_coarse_market(capsys, tmp_path):
    import json

    import typer

    from pluralign.model.io import load_market
    from pluralign.workflows.cli import app, run

    _anes_frame()
    path = tmp_path / "anes_coarse.yaml"
    argv = ["anes", "--grouping", "selfLR_PID", "--states", "scenarios", "--partisanship", "0.2", "--save-market", str(path), "--json"]
    code = run(typer.main.get_command(app), argv)
    captured = capsys.readouterr()
    assert code == 0 and "wrote" in captured.err
    assert len(json.loads(captured.out)["users"]) == 46
    assert load_market(path).equals(anes_market("selfLR_PID", states="scenarios", partisanship=0.2))
    code = run(typer.main.get_command(app), ["anes", "--states", "centre"])
    assert code != 0 and "--states" in capsys.readouterr().err
