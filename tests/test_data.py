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
