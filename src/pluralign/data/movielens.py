"""MovieLens ratings from a folder the user downloaded (ml-100k or ml-latest-small).

MovieLens may not be redistributed, so pluralign neither ships nor downloads it:
get it from https://grouplens.org/datasets/movielens/ and point
:func:`load_movielens` at the unpacked folder. Two layouts are recognised:

* **ml-100k**: ``u.data`` (tab-separated ``user item rating timestamp``, ratings 1–5),
  ``u.item`` (``|``-separated, latin-1: id, title, release date, video date, URL,
  then 19 genre flags), optional ``u.genre`` and ``u.user``;
* **ml-latest-small** (and other "latest" folders): ``ratings.csv``
  (``userId,movieId,rating,timestamp``, ratings 0.5–5) and ``movies.csv``
  (``movieId,title,genres`` with ``|``-separated genres).

Ratings are also given scaled to [0, 1]: ``(rating − lo) / (hi − lo)``.

:func:`genre_personas` turns the ratings into a coverage problem without any LLM:
a seeded half of the users are "persona" raters, each the fan of the genre she
rates highest; a persona model scores a movie by its fans' mean (shrunk) scaled
rating. The other users are the targets: one row per rating, grouped by user.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["MovieLens", "load_movielens", "genre_personas", "ML100K_GENRES"]

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


@dataclass(frozen=True, eq=False)
class MovieLens:
    """Ratings as parallel arrays (``user[k]``, ``item[k]`` index ``user_ids``/``item_ids``) plus movie metadata."""

    kind: str
    folder: Path
    user_ids: np.ndarray
    item_ids: np.ndarray
    titles: tuple[str, ...]
    genres: tuple[str, ...]
    item_genres: np.ndarray  # [item, genre] bool
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    scale: tuple[float, float]

    @property
    def scaled(self) -> np.ndarray:
        """Ratings mapped to [0, 1]: ``(rating − lo) / (hi − lo)``."""
        lo, hi = self.scale
        return (self.rating - lo) / (hi - lo)

    @property
    def n_users(self) -> int:
        return self.user_ids.size

    @property
    def n_items(self) -> int:
        return self.item_ids.size

    def __repr__(self) -> str:
        return (
            f"MovieLens({self.kind}: {self.rating.size} ratings, {self.n_users} users, {self.n_items} movies, "
            f"{len(self.genres)} genres, scale {self.scale[0]:g}-{self.scale[1]:g})"
        )


def _locate(folder: Path) -> tuple[str, Path]:
    if (folder / "u.data").is_file():
        return "ml-100k", folder
    if (folder / "ratings.csv").is_file():
        return "ml-latest", folder
    for sub in ("ml-100k", "ml-latest-small", "ml-latest"):
        if (folder / sub).is_dir():
            return _locate(folder / sub)
    raise FileNotFoundError(
        f"{folder}: not a MovieLens folder (expected u.data for ml-100k or ratings.csv for ml-latest-small); "
        "download it from https://grouplens.org/datasets/movielens/"
    )


def _index(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(ids, return_inverse=True)
    return uniq, inv


def _load_100k(folder: Path):
    path = folder / "u.data"
    raw = []
    with path.open(encoding="latin-1") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 4:
                raise ValueError(f"{path}, line {line_no}: expected 'user item rating timestamp', got {line.strip()!r}")
            try:
                raw.append((int(parts[0]), int(parts[1]), float(parts[2]), int(parts[3])))
            except ValueError:
                raise ValueError(f"{path}, line {line_no}: non-numeric field in {line.strip()!r}") from None
    genres = ML100K_GENRES
    gfile = folder / "u.genre"
    if gfile.is_file():
        rows = [ln.strip().split("|") for ln in gfile.read_text(encoding="latin-1").splitlines() if ln.strip()]
        genres = tuple(name for name, _ in sorted(((r[0], int(r[1])) for r in rows), key=lambda t: t[1]))
    meta: dict[int, tuple[str, np.ndarray]] = {}
    ifile = folder / "u.item"
    if ifile.is_file():
        for line_no, line in enumerate(ifile.read_text(encoding="latin-1").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split("|")
            if len(parts) < 5 + len(genres):
                raise ValueError(f"{ifile}, line {line_no}: expected {5 + len(genres)} '|'-separated fields, got {len(parts)}")
            flags = np.array([p.strip() == "1" for p in parts[5 : 5 + len(genres)]])
            meta[int(parts[0])] = (parts[1], flags)
    return raw, genres, meta, (1.0, 5.0)


def _load_latest(folder: Path):
    path = folder / "ratings.csv"
    raw = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["userId", "movieId", "rating"]:
            raise ValueError(f"{path}: expected the header userId,movieId,rating,timestamp")
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                raw.append((int(row[0]), int(row[1]), float(row[2]), int(row[3]) if len(row) > 3 and row[3] else 0))
            except (ValueError, IndexError):
                raise ValueError(f"{path}, line {line_no}: cannot read {','.join(row)!r}") from None
    meta: dict[int, tuple[str, list[str]]] = {}
    mfile = folder / "movies.csv"
    names: list[str] = []
    if mfile.is_file():
        with mfile.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for line_no, row in enumerate(reader, start=2):
                if len(row) < 3:
                    raise ValueError(f"{mfile}, line {line_no}: expected movieId,title,genres")
                gl = [g for g in row[2].split("|") if g and g != "(no genres listed)"]
                meta[int(row[0])] = (row[1], gl)
                names.extend(g for g in gl if g not in names)
    genres = tuple(sorted(names))
    gpos = {g: k for k, g in enumerate(genres)}
    meta_flags = {}
    for mid, (title, gl) in meta.items():
        flags = np.zeros(len(genres), dtype=bool)
        flags[[gpos[g] for g in gl]] = True
        meta_flags[mid] = (title, flags)
    return raw, genres, meta_flags, (0.5, 5.0)


def load_movielens(folder: str | Path) -> MovieLens:
    """Load a MovieLens folder (ml-100k or ml-latest-small layout; see the module docstring)."""
    kind, folder = _locate(Path(folder))
    raw, genres, meta, scale = _load_100k(folder) if kind == "ml-100k" else _load_latest(folder)
    if not raw:
        raise ValueError(f"{folder}: no ratings")
    arr = np.array(raw, dtype=float)
    lo, hi = scale
    bad = (arr[:, 2] < lo) | (arr[:, 2] > hi)
    if bad.any():
        raise ValueError(f"{folder}: rating {arr[bad][0, 2]:g} outside the scale {lo:g}-{hi:g}")
    user_ids, user = _index(arr[:, 0].astype(np.int64))
    item_ids, item = _index(arr[:, 1].astype(np.int64))
    titles = tuple(meta.get(int(i), (f"movie {int(i)}", None))[0] for i in item_ids)
    item_genres = np.zeros((item_ids.size, len(genres)), dtype=bool)
    for k, i in enumerate(item_ids):
        if int(i) in meta:
            item_genres[k] = meta[int(i)][1]
    return MovieLens(
        kind=kind,
        folder=folder,
        user_ids=user_ids,
        item_ids=item_ids,
        titles=titles,
        genres=tuple(genres),
        item_genres=item_genres,
        user=user,
        item=item,
        rating=arr[:, 2],
        timestamp=arr[:, 3].astype(np.int64),
        scale=scale,
    )


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def genre_personas(
    ml: MovieLens,
    *,
    seed: int = 0,
    persona_fraction: float = 0.5,
    min_user_ratings: int = 20,
    min_genre_ratings: int = 3,
    min_fans: int = 2,
    shrinkage: float = 2.0,
    max_targets: int | None = None,
) -> dict[str, list]:
    """A coverage table: target users' scaled ratings and genre-fan persona scores for the same movies.

    1. Users are split (seeded) into persona raters (``persona_fraction``) and targets.
    2. A persona rater is a fan of the genre with her highest mean scaled rating
       among genres she rated at least ``min_genre_ratings`` times (ties: first genre).
       Genres with at least ``min_fans`` fans become persona models.
    3. Persona g scores movie i by ``(Σ fans' ratings of i + κ·μ_g) / (n_i + κ)``,
       ``μ_g`` the fans' mean rating, ``κ = shrinkage``.
    4. Targets with at least ``min_user_ratings`` ratings (at most ``max_targets`` of
       them, seeded) give one row per rating.

    Columns: ``user``, ``item``, ``title``, ``rating`` (scaled to [0, 1]) and one
    ``fans_of_<genre>`` column per persona. Run
    ``coverage(..., target="rating", group="user")`` on it.
    """
    if not 0.0 < persona_fraction < 1.0:
        raise ValueError(f"persona_fraction must be in (0, 1); got {persona_fraction}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(ml.n_users)
    n_persona = max(1, int(round(persona_fraction * ml.n_users)))
    is_persona = np.zeros(ml.n_users, dtype=bool)
    is_persona[perm[:n_persona]] = True
    r = ml.scaled
    G = len(ml.genres)
    if G == 0:
        raise ValueError(f"{ml.folder}: no genre information (u.item or movies.csv missing)")

    # favourite genre of each persona rater
    gflags = ml.item_genres[ml.item]  # [rating, genre]
    sums = np.zeros((ml.n_users, G))
    counts = np.zeros((ml.n_users, G))
    np.add.at(sums, ml.user, gflags * r[:, None])
    np.add.at(counts, ml.user, gflags.astype(float))
    means = np.where(counts >= min_genre_ratings, sums / np.maximum(counts, 1), -np.inf)
    has = np.isfinite(means).any(axis=1)
    favourite = np.where(has, np.argmax(means, axis=1), -1)
    favourite[~is_persona] = -1

    columns: dict[str, list] = {}
    persona_scores = []
    names = []
    for g in range(G):
        fans = favourite == g
        if fans.sum() < min_fans:
            continue
        sel = fans[ml.user]
        mu = float(r[sel].mean())
        s = np.zeros(ml.n_items)
        n = np.zeros(ml.n_items)
        np.add.at(s, ml.item[sel], r[sel])
        np.add.at(n, ml.item[sel], 1.0)
        persona_scores.append((s + shrinkage * mu) / (n + shrinkage))
        names.append(f"fans_of_{_slug(ml.genres[g])}")
    if not names:
        raise ValueError(
            f"no genre has {min_fans} fans among the persona raters; lower min_fans or min_genre_ratings"
        )

    per_user = np.bincount(ml.user, minlength=ml.n_users)
    targets = np.flatnonzero(~is_persona & (per_user >= min_user_ratings))
    if max_targets is not None and targets.size > max_targets:
        targets = np.sort(rng.choice(targets, size=max_targets, replace=False))
    if targets.size == 0:
        raise ValueError(f"no target user has {min_user_ratings} ratings; lower min_user_ratings")
    rows = np.flatnonzero(np.isin(ml.user, targets))
    rows = rows[np.lexsort((ml.item[rows], ml.user[rows]))]
    columns["user"] = [int(ml.user_ids[ml.user[k]]) for k in rows]
    columns["item"] = [int(ml.item_ids[ml.item[k]]) for k in rows]
    columns["title"] = [ml.titles[ml.item[k]] for k in rows]
    columns["rating"] = r[rows].tolist()
    for name, score in zip(names, persona_scores):
        columns[name] = score[ml.item[rows]].tolist()
    return columns
