"""Alignment of real model ensembles: does a mix of models cover a person or a group? (docs/model.md §11)

Given K models' scores ``S[n, i]`` on N items and a target ``t[n]`` (a person's or a
group's ratings), fit

    t ≈ Σ_i λ_i S[n, i] + c,    λ ≥ 0 (``variant="cone"``) or λ ∈ Δ_K (``"simplex"``),

minimizing one of three losses of the residual ``r = Sλ + c − t``:

* ``"linf"``: ``max_n |r_n|`` — the Weak Market Alignment program of
  :mod:`pluralign.analysis.alignment` (items play the role of (action, state) pairs),
  solved with its dual certificate;
* ``"l1"``: ``mean_n |r_n|`` — the program ``min Σ_n e_n / N s.t. −e ≤ Sλ + c − t ≤ e``;
* ``"l2"``: ``sqrt(mean_n r_n²)`` (RMSE) — bounded least squares (cone), or
  accelerated projected gradient on the simplex stopped by its Frank–Wolfe gap
  (an upper bound on the distance to the optimum of the mean squared error).

:func:`coverage` fits every group on a seeded training split of its items,
reports the held-out error next to the best single model (chosen on the training
split, fitted the same way: ``a·S_i + c``) and the plain average of all models
(``a·mean_i S_i + c``; for the simplex ``a = 1``), and draws the **diversity curve**:
the held-out error against the number of models K', averaged over seeded random
subsets of K' models.

>>> import numpy as np
>>> S = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]])
>>> fit = fit_ensemble(S, 0.5 * S[:, 0] + 0.25 * S[:, 1] + 0.1, loss="linf")
>>> fit.weights.round(6).tolist(), round(fit.offset, 6), round(fit.error, 9)
([0.5, 0.25], 0.1, 0.0)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.alignment import VARIANTS, FitCheck, linf_fits, weight_sum_row
from pluralign.lp import INF, LinearProgram, solve_lp

__all__ = [
    "LOSSES",
    "loss_value",
    "l1_fit_lp",
    "EnsembleFit",
    "fit_ensemble",
    "split_items",
    "diversity_sizes",
    "GroupCoverage",
    "DiversityPoint",
    "CoverageReport",
    "coverage",
    "coverage_from_columns",
]

Loss = Literal["linf", "l1", "l2"]
LOSSES = ("linf", "l1", "l2")


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _fit_inputs(scores, target, loss: str, variant: str, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Check the options and return ``scores`` as ``S[unit, model]`` and ``target`` as ``t[unit]``."""
    _choice(loss, LOSSES, "loss")
    _choice(variant, VARIANTS, "variant")
    S = np.asarray(scores, dtype=float)
    t = np.asarray(target, dtype=float).ravel()
    if S.ndim != 2 or S.shape[0] != t.size:
        raise ValueError(f"scores must be ({unit}, models) with {t.size} {unit}; got shape {S.shape}")
    return S, t


def loss_value(residual, loss: Loss) -> float:
    """``max|r|`` (linf), ``mean|r|`` (l1) or ``sqrt(mean r²)`` (l2) of a residual vector."""
    r = np.asarray(residual, dtype=float).ravel()
    _choice(loss, LOSSES, "loss")
    if r.size == 0:
        return float("nan")
    if loss == "linf":
        return float(np.abs(r).max())
    if loss == "l1":
        return float(np.abs(r).mean())
    return float(np.sqrt(np.mean(r * r)))


# --------------------------------------------------------------------------- builders


def l1_fit_lp(S, t, variant: str = "cone") -> LinearProgram:
    """``min Σ_n e_n / N s.t. Sλ + c − e ≤ t, Sλ + c + e ≥ t``, λ ≥ 0 (simplex: Σλ = 1).

    Columns ``[λ (K) | c | e (N)]``; rows: N upper rows, N lower rows, then the
    simplex row (simplex only).
    """
    _choice(variant, VARIANTS, "variant")
    S = np.asarray(S, dtype=float)
    t = np.asarray(t, dtype=float).ravel()
    N, K = S.shape
    if t.size != N:
        raise ValueError(f"target has {t.size} items but scores have {N}")
    one = np.ones((N, 1))
    eye = sp.eye(N, format="csr")
    A = sp.vstack(
        [sp.hstack([sp.csr_matrix(np.hstack([S, one])), -eye]), sp.hstack([sp.csr_matrix(np.hstack([S, one])), eye])],
        format="csr",
    )
    lower = np.concatenate([np.full(N, -INF), t])
    upper = np.concatenate([t, np.full(N, INF)])
    if variant == "simplex":
        A = sp.vstack([A, weight_sum_row(K, K + 1 + N)], format="csr")
        lower, upper = np.append(lower, 1.0), np.append(upper, 1.0)
    col_lower = np.concatenate([np.zeros(K), [-INF], np.zeros(N)])
    c = np.concatenate([np.zeros(K + 1), np.full(N, 1.0 / N)])
    return LinearProgram.build(c, A, lower, upper, col_lower, INF, sense="min")


# --------------------------------------------------------------------------- one fit


@dataclass(frozen=True, eq=False, repr=False)
class EnsembleFit:
    """``target ≈ scores @ weights + offset``, fitted under ``loss`` with ``variant`` weights.

    ``error`` is the loss on the fitted items; ``lower_bound`` (L∞ only) is the bound
    proved by the dual certificate; ``gap`` (L2 simplex only) bounds how far the mean
    squared error is from optimal.
    """

    loss: str
    variant: str
    method: str
    weights: np.ndarray
    offset: float
    error: float
    n_items: int
    models: tuple[str, ...] = ()
    lower_bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0

    def predict(self, scores) -> np.ndarray:
        """``scores @ weights + offset``."""
        return np.asarray(scores, dtype=float) @ self.weights + self.offset

    def error_on(self, scores, target) -> float:
        """The loss of this fit on other items."""
        return loss_value(self.predict(scores) - np.asarray(target, dtype=float), self.loss)

    def verify(self, scores, target, tol: float = 1e-7) -> FitCheck:
        """Recompute the loss of the reported fit on the fitted items, and check the weights.

        ``epsilon_error`` is |recomputed loss − ``error``|; ``duality_gap`` is
        ``error − lower_bound`` (L∞) or the Frank–Wolfe ``gap`` (L2 simplex), else 0.
        """
        err = self.error_on(scores, target)
        w = self.weights
        weight_violation = max(0.0, float(-w.min()))
        if self.variant == "simplex":
            weight_violation = max(weight_violation, abs(float(w.sum()) - 1.0))
        gap = 0.0
        if self.lower_bound is not None:
            gap = max(0.0, self.error - self.lower_bound)
        elif self.gap is not None:
            gap = self.gap
        values = (abs(err - self.error), weight_violation, 0.0, gap)
        return FitCheck(all(v <= tol for v in values), tol, *values)

    def __repr__(self) -> str:
        names = self.models or tuple(f"s{i}" for i in range(self.weights.size))
        w = ", ".join(f"{n} {x:.4g}" for n, x in zip(names, self.weights) if x > 1e-9) or "none"
        return (
            f"EnsembleFit({self.loss}, {self.variant}, method={self.method}: error {self.error:.6g} on "
            f"{self.n_items} items, weights [{w}], offset {self.offset:.4g})"
        )

    def to_dict(self) -> dict:
        names = self.models or tuple(f"s{i}" for i in range(self.weights.size))
        return {
            "loss": self.loss,
            "variant": self.variant,
            "method": self.method,
            "weights": {n: float(x) for n, x in zip(names, self.weights)},
            "offset": float(self.offset),
            "error": float(self.error),
            "n_items": self.n_items,
            "lower_bound": self.lower_bound,
            "gap": self.gap,
        }


def _l2_cone(S: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.optimize import lsq_linear

    N, K = S.shape
    X = np.hstack([S, np.ones((N, 1))])
    lb = np.concatenate([np.zeros(K), [-np.inf]])
    res = lsq_linear(X, t, bounds=(lb, np.full(K + 1, np.inf)), method="bvls", tol=1e-12)
    lam = np.maximum(res.x[:K], 0.0)
    return lam, float(np.mean(t - S @ lam))


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto {λ ≥ 0, Σλ = 1} (sort-based)."""
    s = np.sort(v)[::-1]
    css = np.cumsum(s) - 1.0
    k = np.arange(1, v.size + 1)
    rho = np.flatnonzero(s - css / k > 0)[-1]
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


def _l2_simplex(S: np.ndarray, t: np.ndarray, tol: float = 1e-13, max_iter: int = 100_000) -> tuple[np.ndarray, float, float]:
    """min over λ ∈ Δ of mean((S̃λ − t̃)²) (centred, so the offset is eliminated), by FISTA.

    Stops when the Frank–Wolfe gap ``∇f·λ − min_i ∇f_i`` (≥ f(λ) − f*) is below ``tol``.
    """
    N, K = S.shape
    if K == 1:
        return np.ones(1), float(np.mean(t - S[:, 0])), 0.0
    Sc = S - S.mean(axis=0)
    tc = t - t.mean()
    H = Sc.T @ Sc * (2.0 / N)
    g0 = Sc.T @ tc * (2.0 / N)
    L = max(float(np.linalg.eigvalsh(H).max()), 1e-15)
    lam = np.full(K, 1.0 / K)
    z, step = lam.copy(), 1.0
    gap = np.inf
    for _ in range(max_iter):
        grad = H @ lam - g0
        gap = float(grad @ lam - grad.min())
        if gap <= tol:
            break
        gz = H @ z - g0
        new = _project_simplex(z - gz / L)
        if gz @ (new - lam) > 0:  # adaptive restart of the momentum
            z, step = new, 1.0
        else:
            step_new = (1 + np.sqrt(1 + 4 * step * step)) / 2
            z = new + ((step - 1) / step_new) * (new - lam)
            step = step_new
        lam = new
    return lam, float(np.mean(t - S @ lam)), max(gap, 0.0)


def fit_ensemble(
    scores,
    target,
    *,
    loss: Loss = "linf",
    variant: str = "cone",
    models: Sequence[str] | None = None,
    method: str = "highs",
) -> EnsembleFit:
    """Fit ``target ≈ Σ_i λ_i scores[:, i] + c`` (module docstring) on all given items.

    ``method`` is the LP backend for L∞ and L1 (``"highs"`` or ``"scipy"``; L∞ also
    takes ``"batched"``); L2 uses scipy's bounded least squares or projected gradient.
    """
    started = time.perf_counter()
    S, t = _fit_inputs(scores, target, loss, variant, "items")
    if t.size == 0:
        raise ValueError("no items to fit")
    if not (np.all(np.isfinite(S)) and np.all(np.isfinite(t))):
        raise ValueError("scores and target must be finite (drop missing values first)")
    models = tuple(models) if models is not None else ()
    lower_bound = gap = None
    if loss == "linf":
        fits = linf_fits(t[None, :], S, variant=variant, method=method)
        lam, c = fits.weights[0], float(fits.offsets[0, 0])
        lower_bound = float(fits.dual_value[0])
    elif loss == "l1":
        res = solve_lp(l1_fit_lp(S, t, variant), backend=method).require_optimal("L1 ensemble fit")
        K = S.shape[1]
        lam = np.maximum(res.x[:K], 0.0)
        if variant == "simplex":
            lam = lam / lam.sum()
        c = float(np.median(t - S @ lam))  # the optimal offset for these weights
    else:
        method = "lsq_linear" if variant == "cone" else "projected_gradient"
        if variant == "cone":
            lam, c = _l2_cone(S, t)
        else:
            lam, c, gap = _l2_simplex(S, t)
    error = loss_value(S @ lam + c - t, loss)
    return EnsembleFit(loss, variant, method, lam, float(c), error, int(t.size), models, lower_bound, gap, time.perf_counter() - started)


# --------------------------------------------------------------------------- coverage


def split_items(n: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)`` into (train, test); the test part has ``round(test_fraction·n)`` items.

    At least one item stays in training; with ``test_fraction = 0`` the test part is empty.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1); got {test_fraction}")
    perm = rng.permutation(n)
    n_test = min(int(round(test_fraction * n)), n - 1) if n > 1 else 0
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def diversity_sizes(K: int, points: int = 8) -> list[int]:
    """Ensemble sizes for the diversity curve: about ``points`` sizes from 1 to K, geometrically spaced."""
    if points >= K:
        return list(range(1, K + 1))
    return sorted({int(round(x)) for x in np.geomspace(1, K, points)} | {1, K})


@dataclass(frozen=True)
class GroupCoverage:
    """One target (a person or a group): the ensemble fit and its comparisons.

    Errors are the loss on the training items and on the held-out items (``None``
    without a held-out split). ``best_single`` is the model with the smallest
    training error when used alone (``a·S_i + c``); ``average`` is the plain
    average of all models (``a·mean_i S_i + c``).
    """

    name: str
    n_train: int
    n_test: int
    weights: dict
    offset: float
    train_error: float
    test_error: float | None
    best_single: str
    best_single_train_error: float
    best_single_test_error: float | None
    average_train_error: float
    average_test_error: float | None

    @property
    def error(self) -> float:
        """Held-out error if there is a held-out split, else training error."""
        return self.train_error if self.test_error is None else self.test_error

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "weights": dict(self.weights),
            "offset": self.offset,
            "train_error": self.train_error,
            "test_error": self.test_error,
            "best_single": {
                "model": self.best_single,
                "train_error": self.best_single_train_error,
                "test_error": self.best_single_test_error,
            },
            "average": {"train_error": self.average_train_error, "test_error": self.average_test_error},
        }


@dataclass(frozen=True)
class DiversityPoint:
    """Error with ``k`` models, over ``subsets`` random subsets of that size.

    ``mean_error``: average over subsets of the mean error over groups; ``worst_error``:
    average over subsets of the largest error over groups; ``low``/``high``: the
    smallest and largest mean-over-groups error among the subsets.
    """

    k: int
    subsets: int
    mean_error: float
    worst_error: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "subsets": self.subsets,
            "mean_error": self.mean_error,
            "worst_error": self.worst_error,
            "low": self.low,
            "high": self.high,
        }


@dataclass(frozen=True, eq=False, repr=False)
class CoverageReport:
    """Coverage of every group by an ensemble of models (docs/model.md §11); iterate for :class:`GroupCoverage`."""

    loss: str
    variant: str
    models: tuple[str, ...]
    target: str
    group: str | None
    test_fraction: float
    seed: int
    groups: tuple[GroupCoverage, ...]
    diversity: tuple[DiversityPoint, ...]
    seconds: float
    dropped: int = 0
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self) -> Iterator[GroupCoverage]:
        return iter(self.groups)

    def __getitem__(self, key: int | str) -> GroupCoverage:
        if isinstance(key, str):
            for g in self.groups:
                if g.name == key:
                    return g
            raise KeyError(f"unknown group {key!r}")
        return self.groups[key]

    @property
    def mean_error(self) -> float:
        """Mean over groups of the held-out (or training) error."""
        return float(np.mean([g.error for g in self.groups]))

    @property
    def worst(self) -> GroupCoverage:
        """The least covered group."""
        return max(self.groups, key=lambda g: g.error)

    def __repr__(self) -> str:
        held = "held-out" if self.test_fraction > 0 else "training"
        return (
            f"CoverageReport({self.loss}, {self.variant}: {len(self.models)} models, {len(self)} groups, "
            f"mean {held} error {self.mean_error:.4g}, worst {self.worst.name!r} {self.worst.error:.4g})"
        )

    def to_dict(self) -> dict:
        """The JSON printed by ``pluralign coverage --json``."""
        def mean(values):
            vals = [v for v in values if v is not None]
            return float(np.mean(vals)) if vals else None

        return {
            "target": self.target,
            "group": self.group,
            "loss": self.loss,
            "variant": self.variant,
            "models": list(self.models),
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "dropped_rows": self.dropped,
            "groups": [g.to_dict() for g in self.groups],
            "summary": {
                "mean_error": self.mean_error,
                "worst_group": self.worst.name,
                "worst_error": self.worst.error,
                "best_single_mean_error": mean(
                    g.best_single_test_error if g.test_error is not None else g.best_single_train_error for g in self.groups
                ),
                "average_mean_error": mean(
                    g.average_test_error if g.test_error is not None else g.average_train_error for g in self.groups
                ),
                "held_out": self.test_fraction > 0,
            },
            "diversity": [p.to_dict() for p in self.diversity],
            "seconds": self.seconds,
        }


def _single_fit(s: np.ndarray, t: np.ndarray, loss: str, variant: str) -> tuple[float, float]:
    """Best ``a·s + c`` (``a ≥ 0``; simplex: ``a = 1``) for one score vector; returns (a, c)."""
    fit = fit_ensemble(s[:, None], t, loss=loss, variant=variant)
    return float(fit.weights[0]), fit.offset


def _errors(pred_train, t_train, pred_test, t_test, loss) -> tuple[float, float | None]:
    test = loss_value(pred_test - t_test, loss) if t_test.size else None
    return loss_value(pred_train - t_train, loss), test


def coverage(
    scores,
    target,
    *,
    groups=None,
    models: Sequence[str] | None = None,
    loss: Loss = "linf",
    variant: str = "cone",
    test_fraction: float = 0.3,
    seed: int = 0,
    sizes: Sequence[int] | None = None,
    n_subsets: int = 10,
    target_name: str = "target",
    group_name: str | None = None,
) -> CoverageReport:
    """Fit every group's target by the ensemble, with held-out error, baselines and the diversity curve.

    ``scores`` is ``(rows, K)``, ``target`` ``(rows,)`` and ``groups`` (optional) one
    label per row; rows with a missing (NaN) score or target are dropped. Each group
    gets its own seeded split of its rows. The diversity curve uses ``sizes`` (default
    :func:`diversity_sizes`) and ``n_subsets`` seeded random subsets per size (one
    when the size is K).
    """
    started = time.perf_counter()
    S, t = _fit_inputs(scores, target, loss, variant, "rows")
    K = S.shape[1]
    if K == 0:
        raise ValueError("no model columns to fit with")
    models = tuple(models) if models is not None else tuple(f"model{i}" for i in range(K))
    if len(models) != K:
        raise ValueError(f"{len(models)} model names for {K} score columns")
    labels = np.full(t.size, "all", dtype=object) if groups is None else np.asarray(groups, dtype=object)
    if labels.size != t.size:
        raise ValueError(f"groups has {labels.size} labels for {t.size} rows")
    keep = np.isfinite(t) & np.isfinite(S).all(axis=1)
    dropped = int((~keep).sum())
    S, t, labels = S[keep], t[keep], labels[keep]
    if t.size == 0:
        raise ValueError("no complete rows (every row has a missing score or target)")
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be at least 1; got {n_subsets}")

    seq = np.random.SeedSequence(seed)
    split_seed, subset_seed = seq.spawn(2)
    names = list(dict.fromkeys(labels.tolist()))
    group_rngs = split_seed.spawn(len(names))
    splits = []
    for name, gseq in zip(names, group_rngs):
        rows = np.flatnonzero(labels == name)
        tr, te = split_items(rows.size, test_fraction, np.random.default_rng(gseq))
        splits.append((str(name), rows[tr], rows[te]))

    results = []
    avg_score = S.mean(axis=1)
    for name, tr, te in splits:
        fit = fit_ensemble(S[tr], t[tr], loss=loss, variant=variant, models=models)
        train_err, test_err = _errors(fit.predict(S[tr]), t[tr], fit.predict(S[te]), t[te], loss)
        singles = []
        for i in range(K):
            a, c = _single_fit(S[tr, i], t[tr], loss, variant)
            singles.append((loss_value(a * S[tr, i] + c - t[tr], loss), i, a, c))
        s_err, best, a, c = min(singles)
        s_test = loss_value(a * S[te, best] + c - t[te], loss) if te.size else None
        a, c = _single_fit(avg_score[tr], t[tr], loss, variant)
        av_train, av_test = _errors(a * avg_score[tr] + c, t[tr], a * avg_score[te] + c, t[te], loss)
        results.append(
            GroupCoverage(
                name=name,
                n_train=int(tr.size),
                n_test=int(te.size),
                weights={mdl: float(x) for mdl, x in zip(models, fit.weights)},
                offset=fit.offset,
                train_error=train_err,
                test_error=test_err,
                best_single=models[best],
                best_single_train_error=s_err,
                best_single_test_error=s_test,
                average_train_error=av_train,
                average_test_error=av_test,
            )
        )

    rng = np.random.default_rng(subset_seed)
    curve = []
    for size in sizes if sizes is not None else diversity_sizes(K):
        size = int(size)
        if not 1 <= size <= K:
            raise ValueError(f"diversity sizes must be between 1 and {K}; got {size}")
        count = 1 if size == K else n_subsets
        means, worsts = [], []
        for _ in range(count):
            cols = np.sort(rng.choice(K, size=size, replace=False))
            errs = []
            for _name, tr, te in splits:
                fit = fit_ensemble(S[np.ix_(tr, cols)], t[tr], loss=loss, variant=variant)
                ev = te if te.size else tr
                errs.append(fit.error_on(S[np.ix_(ev, cols)], t[ev]))
            means.append(float(np.mean(errs)))
            worsts.append(float(np.max(errs)))
        curve.append(DiversityPoint(size, count, float(np.mean(means)), float(np.mean(worsts)), min(means), max(means)))

    return CoverageReport(
        loss=loss,
        variant=variant,
        models=models,
        target=target_name,
        group=group_name,
        test_fraction=float(test_fraction),
        seed=int(seed),
        groups=tuple(results),
        diversity=tuple(curve),
        seconds=time.perf_counter() - started,
        dropped=dropped,
    )


def coverage_from_columns(
    columns: dict,
    target: str,
    *,
    group: str | None = None,
    models: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    **options,
) -> CoverageReport:
    """:func:`coverage` on a table given as ``{column name: values}``.

    ``models`` defaults to every numeric column other than ``target``, ``group`` and
    ``exclude`` (identifier columns such as an item id). Errors name the column.
    """
    if target not in columns:
        raise KeyError(f"no column {target!r} for --target; columns: {', '.join(columns)}")
    if group is not None and group not in columns:
        raise KeyError(f"no column {group!r} for --group; columns: {', '.join(columns)}")
    for name in exclude:
        if name not in columns:
            raise KeyError(f"no column {name!r} to exclude; columns: {', '.join(columns)}")
    skip = {target, *(c for c in (group,) if c), *exclude}
    if models is None:
        models = [c for c in columns if c not in skip and _numeric(columns[c])]
        if not models:
            raise ValueError(f"no numeric model columns besides {', '.join(sorted(skip))}")
    else:
        for c in models:
            if c not in columns:
                raise KeyError(f"no model column {c!r}; columns: {', '.join(columns)}")
            if c in skip:
                raise ValueError(f"column {c!r} cannot be both a model and the target/group/excluded")
    S = np.column_stack([_as_float(columns[c], c) for c in models])
    t = _as_float(columns[target], target)
    groups = None if group is None else [("" if v is None else str(v)) for v in columns[group]]
    return coverage(S, t, groups=groups, models=list(models), target_name=target, group_name=group, **options)


def _as_float(values, name: str) -> np.ndarray:
    out = np.empty(len(values))
    for n, v in enumerate(values):
        if v is None or (isinstance(v, str) and v.strip() == ""):
            out[n] = np.nan
            continue
        try:
            out[n] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"column {name!r}, row {n + 1}: {v!r} is not a number") from None
    return out


def _numeric(values) -> bool:
    try:
        _as_float(values, "")
    except ValueError:
        return False
    return True
