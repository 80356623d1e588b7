"""Build exact certificates: equilibria (docs/model.md §5, §8.3) and market alignment (§7).

:func:`certify` turns a game and a profile into a :class:`Certificate` — a JSON document that
:mod:`.check` verifies with rational arithmetic alone (docs/certificates.md):

* the market, every float x read as the exact decimal ``Fraction(repr(x))`` (a file's 0.7 is
  7/10); a prior, observation row or mass vector whose exact sum is not 1 is divided by its sum,
  and the file says so;
* the profile, each entry snapped to a fraction with denominator ≤ 10⁶ when within 2⁻⁵⁰ of
  one (float round-off) and each row's exact residual put on its largest entry, so every row
  sums to exactly 1;
* users' responses, payoffs, and per provider the certificates of its deviation bound. The LPs
  are those of :mod:`.check` (the checker rebuilds them; here they are also solved in floating
  point through :mod:`pluralign.lp`). Each LP's row duals are rationalized (several denominators;
  the smallest exact weak-duality bound wins); an LP the solver calls infeasible gets a Farkas
  certificate from its elastic version (minimize the total violation; its duals prove
  infeasibility). Anonymous regime: attracted sets are visited in decreasing order of the exact
  personalized relaxation Σ_{j∈T} p_j A_j + Σ_{j∉T} p_j L_j and the search stops when no
  remaining set can beat the best certified bound — the checker re-derives that dismissal.

Users with private observations and menus (docs/model.md §14) are covered: responses and bounds
are per user *kind*, attracted sets are sets of kinds within one group of items (a user's, when
personalized; everyone's, when anonymous), and with menus each set's LP is a menu LP (one item per
attracted kind, incentive compatibility, "does not prefer any item"); such documents are version 2.

Where no exact certificate exists — groups of kinds beyond the size guard of the exact
attracted-set enumeration (:func:`pluralign.analysis.limits.check_size`, counting every kind:
the checker does not merge identical ones), where the engine's best response is the labelled
heuristic; an LP the solver cannot settle — :func:`certify` raises :class:`NoExactCertificate`
with the reason; it never writes a partial certificate.

>>> from pluralign.catalog import load
>>> from pluralign.analysis.game import ProviderGame
>>> game = ProviderGame(load("match_mismatch"), "anonymous")
>>> cert = certify(game, game.uninformative())
>>> cert.proven, cert.exact, [str(r) for r in cert.regrets]      # docs/model.md §9 B, exactly
(True, True, ['0', '0'])
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pluralign.analysis.alignment import strong_alignment, weak_alignment
from pluralign.analysis.certificates import check
from pluralign.analysis.certificates.check import FORMAT, NEG, POS, Report
from pluralign.analysis.limits import SizeError, check_size
from pluralign.lp import INF, LinearProgram, solve_robust
from pluralign.model.kinds import kinds_of, layout_of

__all__ = ["Certificate", "NoExactCertificate", "certify", "certify_alignment", "exact_market", "exact_profile"]

DENOMINATORS = (10**6, 10**12, None)  # rationalizations of a float dual tried in turn (None: its exact binary value)
SNAP = Fraction(1, 2**50)  # a profile entry this close to a fraction with denominator ≤ 10^6 is that fraction
WIDEN = 1e-9  # a re-solve with inequality rows widened by this (units of the users' ranges)


class NoExactCertificate(ValueError):
    """No exact certificate can be built for this game and profile; the message says why."""


@dataclass(frozen=True, eq=False)
class Certificate:
    """A certificate document and the checker's report on it (``report``: recomputed from the document)."""

    document: dict
    report: Report
    seconds: float

    @property
    def kind(self) -> str:
        return self.document["kind"]

    @property
    def proven(self) -> bool:
        """The checker proves the claim (equilibrium within the tolerance; alignment fits and duals)."""
        return self.report.proven

    @property
    def regrets(self) -> tuple:
        """Exact certified regret of every provider (equilibrium certificates)."""
        return tuple(self.report.values.get("regrets", ()))

    @property
    def payoffs(self) -> tuple:
        return tuple(self.report.values.get("payoffs", ()))

    @property
    def bounds(self) -> tuple:
        return tuple(p + r for p, r in zip(self.payoffs, self.regrets))

    @property
    def max_regret(self) -> Fraction:
        return max(self.regrets)

    @property
    def exact(self) -> bool:
        """Every certified regret is ≤ 0: an exact equilibrium."""
        return bool(self.regrets) and self.max_regret <= 0

    def to_json(self) -> str:
        """The document as JSON: objects one field a line, lists without objects on one line."""
        return _dump(self.document, "") + "\n"

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    def check(self) -> Report:
        """Run the checker again on the serialized document."""
        return check.check_document(check.load_document(self.to_json()))

    def _repr_html_(self) -> str:
        from html import escape

        return "<pre>" + escape(self.report.text()) + "</pre>"

    def __repr__(self) -> str:
        state = "proven" if self.proven else "NOT proven"
        if self.kind == "equilibrium":
            return f"Certificate(equilibrium, {state}, regrets {[check.approx(r) for r in self.regrets]})"
        return f"Certificate(alignment, {state})"


def _dump(obj, pad: str) -> str:
    inner = pad + " "
    if isinstance(obj, dict) and obj:
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {_dump(v, inner)}" for k, v in obj.items()) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, dict) for v in obj):
        return "[\n" + ",\n".join(inner + _dump(v, inner) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


# ============================================================================ exact data


def _q(x) -> Fraction:
    return Fraction(repr(float(x)))


def _s(q) -> str:
    return str(q)


def _nest(a, f=_s):
    return [_nest(v, f) for v in a] if isinstance(a, (list, tuple, np.ndarray)) else f(a)


def _distribution(values, what: str, notes: list, force: bool = False) -> list:
    qs = [_q(v) for v in values]
    total = sum(qs)
    if force or total != 1:
        notes.append(f"{what}: exact entries sum to {total}" + (" (normalize: true)" if force else "") + "; divided by their sum")
        qs = [q / total for q in qs]
    return qs


def exact_market(market) -> dict:
    """The market block of a certificate: every number an exact rational string (module docstring)."""
    notes: list[str] = []
    prior = _distribution(market.prior, "prior", notes)
    obs = None
    if market.observation is not None:
        obs = [_distribution(row, f"observation[{market.states[y]}]", notes) for y, row in enumerate(market.observation)]
    mass = _distribution(market.mass, "mass", notes, force=bool(market.normalize) and math.fsum(market.mass) != 1)
    out = {
        "name": market.name,
        "states": list(market.states),
        "observations": list(market.observations),
        "actions": list(market.actions),
        "users": list(market.users),
        "providers": list(market.providers),
        "prior": _nest(prior),
        "observation": None if obs is None else _nest(obs),
        "mass": _nest(mass),
        "u": _nest(market.u, lambda x: _s(_q(x))),
        "U": _nest(market.U, lambda x: _s(_q(x))),
        "renormalized": notes,
    }
    if getattr(market, "private_observation", None) is not None:  # P(z | y), rows renormalized like the others
        rows = [_distribution(row, f"private.observation[{market.states[y]}]", notes)
                for y, row in enumerate(market.private_observation)]
        out["private"] = {"signals": list(market.private_signals), "observation": _nest(rows)}
    return out


def _scheme(sigma: np.ndarray) -> list:
    rows = []
    for row in np.clip(np.asarray(sigma, dtype=float), 0.0, None):
        qs = []
        for x in row:
            q = _q(x)
            near = q.limit_denominator(10**6)
            qs.append(near if abs(near - q) <= SNAP else q)
        top = max(range(len(qs)), key=lambda n: qs[n])
        qs[top] += 1 - sum(qs)
        rows.append(qs)
    return rows


def exact_profile(game, profile) -> list:
    """``[i][j]`` (personalized), ``[i]`` (anonymous), with menus ``[i][j][r]`` (personalized) or ``[i][q]``
    (anonymous): schemes as rational rows summing to exactly 1 (module docstring)."""
    m = game.market
    reports = range(m.n_private if game.regime == "personalized" else m.n_users * m.n_private)

    def one(i, j=None):
        if not game.menus:
            return _nest(_scheme(profile.scheme(i, j)))
        return [_nest(_scheme(profile.scheme(i, j, r))) for r in reports]

    if game.regime == "personalized":
        return [[one(i, j) for j in range(m.n_users)] for i in range(m.n_providers)]
    return [one(i) for i in range(m.n_providers)]


# ============================================================================ LP certificates


def _float_lp(lp: check.LP, widen: float = 0.0, elastic: bool = False) -> LinearProgram:
    """``lp`` in floating point (inequality rows widened by ``widen``; ``elastic``: max −Σ violations)."""
    c = np.zeros(lp.n)
    for k, v in lp.c.items():
        c[k] = float(v)
    R, C, V = [], [], []
    lo, hi = np.full(len(lp.rows), -INF), np.full(len(lp.rows), INF)
    for r, (coef, low, high) in enumerate(lp.rows):
        for k, v in coef.items():
            R.append(r), C.append(k), V.append(float(v))
        eq = low is not None and low == high
        if low is not None:
            lo[r] = float(low) - (0.0 if eq else widen)
        if high is not None:
            hi[r] = float(high) + (0.0 if eq else widen)
    A = sp.csr_matrix((V, (R, C)), shape=(len(lp.rows), lp.n))
    col_hi = np.ones(lp.n)
    if elastic:
        n_r = len(lp.rows)
        A = sp.hstack([A, sp.eye(n_r), -sp.eye(n_r)]).tocsr()
        c = np.concatenate([np.zeros(lp.n), -np.ones(2 * n_r)])
        col_hi = np.concatenate([col_hi, np.full(2 * n_r, INF)])
    return LinearProgram.build(c, A, lo, hi, 0.0, col_hi, sense="max", offset=0.0 if elastic else float(lp.c0))


def _candidates(y) -> list[dict]:
    out = []
    for D in DENOMINATORS:
        d = {}
        for r, v in enumerate(y):
            if v != 0 and math.isfinite(v):
                q = Fraction(float(v)) if D is None else Fraction(float(v)).limit_denominator(D)
                if q != 0:
                    d[r] = q
        out.append(d)
    return out


def _pairs(y: dict) -> list:
    return [[r, _s(v)] for r, v in sorted(y.items())]


def certify_lp(lp: check.LP, what: str):
    """``(value, entry)``: the best exact bound (NEG if proven infeasible) and the file entry's multipliers.

    Solves the LP as stated — or, if the solver calls it infeasible, widened by :data:`WIDEN`
    (its duals still bound the exact LP) — and keeps the rationalized duals with the smallest
    exact bound; an LP infeasible even when widened gets a Farkas certificate from its elastic
    version. Raises :class:`NoExactCertificate` if none works.
    """
    best, best_y = POS, None
    for widen in (0.0, WIDEN):
        res = solve_robust(_float_lp(lp, widen))
        if res.status != "optimal" or res.row_dual is None:
            continue
        for y in _candidates(res.row_dual):
            b = check.dual_bound(lp, y)
            if b != POS and (best == POS or b < best):
                best, best_y = b, y
            if best != POS and best <= res.objective + 1e-11 * (1 + abs(res.objective)):
                return best, {"dual": _pairs(best_y)}
        if best != POS and best <= res.objective + 1e-6:
            break
    if best_y is not None:
        return best, {"dual": _pairs(best_y)}
    res = solve_robust(_float_lp(lp, elastic=True))
    if res.status == "optimal" and res.objective < 0 and res.row_dual is not None:
        for z in _candidates(res.row_dual[: len(lp.rows)]):
            v = check.dual_bound(lp, z, farkas=True)
            if v != POS and v < 0:
                return NEG, {"farkas": _pairs(z)}
    raise NoExactCertificate(f"no exact certificate: the LP solver could not settle {what}")


# ============================================================================ equilibria


def _settings(game) -> dict:
    r = game.rule
    return {
        "regime": game.regime, "mode": game.mode, "provider_tie": r.provider_tie, "action_tie": r.action_tie,
        "ties": game.ties, "tie_tolerance": "0", "tolerance": _s(_q(game.tol)),
        **({"menus": bool(game.menus)} if _version(game.market, game.menus) == 2 else {}),
    }


def _version(market, menus: bool) -> int:
    """1 for documents without private observations and menus (their meaning is unchanged), else 2."""
    return 2 if menus or getattr(market, "private_observation", None) is not None else 1


def _check_certifiable(game) -> None:
    m = game.market
    if game.rule.quantal_beta is not None:  # pragma: no cover - ProviderGame refuses quantal users
        raise NoExactCertificate("no exact certificate: quantal users (certificates assume best-responding users)")
    kinds, lay = kinds_of(m), layout_of(m, game.regime, game.menus)
    largest = max(int(np.isin(lay.truthful, np.flatnonzero(lay.group == g)).sum()) for g in np.unique(lay.group))
    if largest == 1:  # each kind persuaded alone: no attracted sets to enumerate
        return
    try:
        if game.menus and not lay.single:
            if largest > min(game.max_kinds, check.MAX_KINDS):
                raise SizeError(f"a group of {largest} user kinds (limit max_kinds={min(game.max_kinds, check.MAX_KINDS)})")
        else:
            check_size(largest, m.n_actions, min(game.max_kinds, check.MAX_KINDS), min(game.max_signals, check.MAX_SIGNALS))
    except SizeError as exc:
        what = "user kinds" if not kinds.trivial else "user types"
        raise NoExactCertificate(
            f"no exact certificate: the exact best response (attracted sets of {what}, every kind counted: "
            f"certificates do not merge identical ones) is out of reach, and the heuristic beyond it certifies nothing — {exc}"
        ) from None


def _provider(mkt, lay, resp, st: dict, i: int) -> dict:
    """The certificates of provider i's deviation bound (module docstring)."""
    dev = check.deviation(mkt, resp, i, st)
    lps, A, sets = [], {}, {}
    for k in range(mkt.K):
        if dev.attract[k]:
            value, entry = certify_lp(check.attract_lp(mkt, dev, i, k), f"provider {i}'s persuasion LP for {mkt.names[k]}")
            A[k] = value if value == NEG else dev.w[k] * value + dev.c[k]
            lps.append({"kind": "attract", "user": k, **entry})
    build_lp = check.set_lp if lay.lp == "attracted_set" else check.menu_lp
    for group in lay.groups:
        if len(group) == 1:  # the relaxation (the kind persuaded alone) is exact
            continue
        relax = []
        for r in range(len(group) + 1):
            for T in itertools.combinations(group, r):
                v = check.relaxation(mkt, dev, A, T, group)
                if v not in (NEG, POS):
                    relax.append((v, T))
        relax.sort(key=lambda t: -t[0])
        best = NEG
        for v, T in relax:
            if best != NEG and v <= best:
                break
            if T:  # the empty set's relaxation is exact: everyone kept away by items that say nothing
                value, entry = certify_lp(build_lp(mkt, dev, i, T, group), f"provider {i}'s LP for attracted set {list(T)}")
                sets[T] = value
                lps.append({"kind": lay.lp, "set": list(T), **entry})
                v = min(v, value, key=check.order_key)
            best = max(best, v, key=check.order_key)
    bound, uncovered = check.provider_bound(mkt, dev, lay.groups, A, sets)
    if bound in (NEG, POS):  # pragma: no cover - every set is either solved or dismissed above
        raise NoExactCertificate(f"no exact certificate: provider {i}'s attracted set {uncovered} is not covered")
    return {"name": mkt.providers[i], "payoff": _s(resp.payoffs[i]), "bound": _s(bound),
            "regret": _s(bound - resp.payoffs[i]), "lps": lps}


def certify(game, profile) -> Certificate:
    """An exact certificate of ``profile`` in ``game`` (module docstring); the checker's verdict is in ``.report``.

    Users' ties are exact (tolerance 0) whatever ``game.rule.tol`` says; regrets are proven
    against ``game.tol``. Raises :class:`NoExactCertificate` where no exact certificate exists.
    """
    started = time.perf_counter()
    _check_certifiable(game)
    game.check_profile(profile)
    with check.long_integers():
        return _certify(game, profile, started)


def _certify(game, profile, started: float) -> Certificate:
    doc = {
        "format": FORMAT, "version": _version(game.market, game.menus), "kind": "equilibrium",
        "market": exact_market(game.market),
        "settings": _settings(game),
        "profile": exact_profile(game, profile),
        "notes": {
            "profile": "rationalized from floats: entries within 2^-50 of a fraction with denominator at most 10^6 "
                       "snapped to it, each row's exact residual put on its largest entry",
            "ties": "users' ties are exact (tolerance 0); deviation bounds follow docs/model.md §8.3 with tolerance 0",
            "engine": f"{game!r}, users' tie tolerance in the engine {game.rule.tol!r}, margin {game.margin!r}",
        },
    }
    problems: list[str] = []
    mkt = check.Market(doc["market"], problems)
    st = check.settings_of(doc["settings"], doc["version"])
    lay = check.layout_of(mkt, st["regime"], st["menus"])
    items = check.items_of(doc, mkt, st, problems)
    if problems:  # pragma: no cover - exact_market/exact_profile produce exact distributions
        raise NoExactCertificate("no exact certificate: " + "; ".join(problems))
    resp = check.respond(mkt, lay, items, st)
    doc["response"] = {
        "values": _nest(resp.values), "shares": _nest(resp.shares), "utilities": _nest(resp.utilities),
        "actions": resp.actions, **({"items": resp.items} if st["menus"] else {}),
    }
    doc["payoffs"] = _nest(resp.payoffs)
    doc["providers"] = [_provider(mkt, lay, resp, st, i) for i in range(mkt.k)]
    report = check.check_document(check.load_document(json.dumps(doc)))
    return Certificate(doc, report, time.perf_counter() - started)


# ============================================================================ market alignment


def _cells(mkt) -> list:
    return [(a, y) for a in range(mkt.na) for y in range(mkt.ny)]


def _offset_fit(mkt, lam: list, j: int, kind: str) -> tuple:
    """``(error, offsets)``: the best offsets for weights ``lam`` (half the residual's range, per state for ``state``)."""
    r0 = [[sum(lam[i] * mkt.U[i][j][a][y] for i in range(mkt.k)) - mkt.u[j][a][y] for y in range(mkt.ny)] for a in range(mkt.na)]
    groups = [_cells(mkt)] if kind == "scalar" else [[(a, y) for a in range(mkt.na)] for y in range(mkt.ny)]
    offsets, error = [], Fraction(0)
    for g in groups:
        hi, lo = max(r0[a][y] for a, y in g), min(r0[a][y] for a, y in g)
        offsets.append(-(hi + lo) / 2)
        error = max(error, (hi - lo) / 2)
    return error, offsets


def _weights(lam, variant: str) -> list:
    """Rational candidates for float weights (clipped at 0; on the simplex, divided by their sum)."""
    out = []
    for D in DENOMINATORS:
        q = [Fraction(float(max(v, 0.0))) if D is None else Fraction(float(max(v, 0.0))).limit_denominator(D) for v in lam]
        if variant == "simplex":
            q = [v / sum(q) for v in q] if sum(q) > 0 else [Fraction(1, len(q))] * len(q)
        out.append(q)
    return out


def _dual(mkt, w: dict, variant: str, kind: str):
    """Lower bound proved by duals ``w[j][a][y]`` after exact repair: each user's Eᵀw made 0 (means
    subtracted), ‖w‖₁ scaled to 1 (the constraints are homogeneous); None if Mᵀw ≤ 0 fails (cone)."""
    fixed = {}
    for j, wj in w.items():
        wj = [row[:] for row in wj]
        groups = [_cells(mkt)] if kind == "scalar" else [[(a, y) for a in range(mkt.na)] for y in range(mkt.ny)]
        for g in groups:
            mean = sum(wj[a][y] for a, y in g) / len(g)
            for a, y in g:
                wj[a][y] -= mean
        fixed[j] = wj
    l1 = sum(abs(v) for wj in fixed.values() for row in wj for v in row)
    if l1 == 0:
        return Fraction(0), fixed
    fixed = {j: [[v / l1 for v in row] for row in wj] for j, wj in fixed.items()}
    wU = [sum(fixed[j][a][y] * mkt.U[i][j][a][y] for j in fixed for a, y in _cells(mkt)) for i in range(mkt.k)]
    if variant == "cone" and max(wU) > 0:
        return None, fixed
    wu = sum(fixed[j][a][y] * mkt.u[j][a][y] for j in fixed for a, y in _cells(mkt))
    return wu - (max(wU) if variant == "simplex" else 0), fixed


def _solve_near(rows: list, rhs: list, guess: dict):
    """A solution of ``rows·x = rhs`` (rows: ``{variable: coefficient}``) in exact arithmetic, every
    free variable at its ``guess``; None if the system is inconsistent. Gauss–Jordan elimination."""
    names = list(guess)
    M = [[r.get(v, Fraction(0)) for v in names] + [Fraction(b)] for r, b in zip(rows, rhs)]
    pivots, top = [], 0
    for col in range(len(names)):
        piv = next((r for r in range(top, len(M)) if M[r][col] != 0), None)
        if piv is None:
            continue
        M[top], M[piv] = M[piv], M[top]
        M[top] = [v / M[top][col] for v in M[top]]
        for r in range(len(M)):
            if r != top and M[r][col] != 0:
                f = M[r][col]
                M[r] = [a - f * b for a, b in zip(M[r], M[top])]
        pivots.append(col)
        top += 1
    if any(M[r][-1] != 0 for r in range(top, len(M))):
        return None
    x = dict(guess)
    free = [c for c in range(len(names)) if c not in pivots]
    for r, col in enumerate(pivots):
        x[names[col]] = M[r][-1] - sum(M[r][c] * guess[names[c]] for c in free)
    return x


def _groups(mkt, kind: str) -> list:
    return [_cells(mkt)] if kind == "scalar" else [[(a, y) for a in range(mkt.na)] for y in range(mkt.ny)]


def _active_weights(mkt, users: list, lam: list, variant: str, kind: str):
    """Exact weights from the active residuals of the fit ``lam`` (|residual| = ε at a vertex):
    Σ_i λ_i U_i(j, a, y) + c_j(g) − s·t = u_j(a, y) on those rows, solved near ``lam``."""
    fits = [_offset_fit(mkt, lam, j, kind) for j in users]
    eps = max(f[0] for f in fits)
    support = [i for i in range(mkt.k) if lam[i] > Fraction(1, 10**9)]
    rows, rhs = [], []
    guess = {("l", i): lam[i] for i in support} | {("t",): eps}
    for n, j in enumerate(users):
        for g, cells in enumerate(_groups(mkt, kind)):
            guess[("c", j, g)] = fits[n][1][g]
            for a, y in cells:
                r = sum(lam[i] * mkt.U[i][j][a][y] for i in range(mkt.k)) + fits[n][1][g] - mkt.u[j][a][y]
                if abs(r) >= eps - Fraction(1, 10**9) * (1 + eps) and eps > 0:
                    rows.append({("l", i): mkt.U[i][j][a][y] for i in support} | {("c", j, g): Fraction(1), ("t",): -1 if r > 0 else Fraction(1)})
                    rhs.append(mkt.u[j][a][y])
    if variant == "simplex":
        rows.append({("l", i): Fraction(1) for i in support})
        rhs.append(1)
    x = _solve_near(rows, rhs, guess) if rows else None
    if x is None or any(x[("l", i)] < 0 for i in support):
        return None
    return [x.get(("l", i), Fraction(0)) for i in range(mkt.k)]


def _active_dual(mkt, users: list, w: dict, variant: str, kind: str):
    """An exact dual on the support of ``w`` with the active provider rows of the optimum as
    equalities (cone: Σ w·U_i = 0; simplex: Σ w·U_i = z), Eᵀw = 0 and Σ sign(w)·w = 1."""
    cells = _cells(mkt)
    support = [(j, a, y) for j in users for a, y in cells if abs(w[j][a][y]) > Fraction(1, 10**12)]
    wU = [sum(w[j][a][y] * mkt.U[i][j][a][y] for j, a, y in support) for i in range(mkt.k)]
    top = max(wU) if variant == "simplex" else Fraction(0)
    guess = {("w", j, a, y): w[j][a][y] for j, a, y in support} | ({("z",): top} if variant == "simplex" else {})
    rows, rhs = [], []
    for j in users:
        for cells_g in _groups(mkt, kind):
            rows.append({("w", j, a, y): Fraction(1) for a, y in cells_g if ("w", j, a, y) in guess})
            rhs.append(0)
    for i in range(mkt.k):
        if wU[i] >= top - Fraction(1, 10**9):
            rows.append({("w", j, a, y): mkt.U[i][j][a][y] for j, a, y in support} | ({("z",): Fraction(-1)} if variant == "simplex" else {}))
            rhs.append(0)
    rows.append({("w", j, a, y): Fraction(1 if w[j][a][y] > 0 else -1) for j, a, y in support})
    rhs.append(1)
    x = _solve_near(rows, rhs, guess)
    if x is None:
        return None
    return {j: [[x.get(("w", j, a, y), Fraction(0)) for y in range(mkt.ny)] for a in range(mkt.na)] for j in users}


def _exact_alignment(mkt, users: list, lam_float, dual_float, variant: str, kind: str) -> dict:
    """The exact fit (common weights for ``users``) and dual with the smallest gap: rationalized
    candidates first, then an exact solve on the optimum's active set (:func:`_solve_near`)."""
    def fit(lam):
        fits = [_offset_fit(mkt, lam, j, kind) for j in users]
        return max(f[0] for f in fits), lam, [f[1] for f in fits]

    best_fit = min((fit(lam) for lam in _weights(lam_float, variant)), key=lambda f: f[0])
    duals = [{j: [[Fraction(float(v)) if D is None else Fraction(float(v)).limit_denominator(D) for v in row]
                  for row in dual_float[n]] for n, j in enumerate(users)} for D in DENOMINATORS]
    best_dual = (None, None)
    for w in duals:
        low, fixed = _dual(mkt, w, variant, kind)
        if low is not None and (best_dual[0] is None or low > best_dual[0]):
            best_dual = (low, fixed)
    if best_dual[0] is None or best_dual[0] < best_fit[0]:
        lam = _active_weights(mkt, users, best_fit[1], variant, kind)
        if lam is not None:
            best_fit = min(best_fit, fit(lam), key=lambda f: f[0])
        w = _active_dual(mkt, users, duals[-1], variant, kind)
        low, fixed = _dual(mkt, w, variant, kind) if w is not None else (None, None)
        if low is not None and (best_dual[0] is None or low > best_dual[0]):
            best_dual = (low, fixed)
    if best_dual[0] is None:  # no candidate survives the exact cone test: the zero dual proves ε ≥ 0
        best_dual = (Fraction(0), {j: [[Fraction(0)] * mkt.ny for _ in range(mkt.na)] for j in users})
    eps, lam, offsets = best_fit
    return {"epsilon": eps, "weights": lam, "offsets": offsets, "lower_bound": best_dual[0], "dual": best_dual[1]}


def certify_alignment(market, *, variant: str = "cone", offset: str = "scalar", strong: bool = True) -> Certificate:
    """Exact Weak (per user) and Strong Market Alignment certificates of ``market`` (docs/model.md §7).

    The engine's fits and duals (:func:`~pluralign.analysis.alignment.weak_alignment`,
    :func:`~pluralign.analysis.alignment.strong_alignment`) are rationalized: weights clipped at 0
    (simplex: divided by their sum) with the optimal offsets recomputed exactly, so the fit's
    error is its exact largest residual; duals repaired exactly (Eᵀw = 0, ‖w‖₁ = 1) so the lower
    bound they prove is exact. The checker reports ε exactly when the two meet, else the interval.
    """
    started = time.perf_counter()
    with check.long_integers():
        return _certify_alignment(market, variant, offset, strong, started)


def _certify_alignment(market, variant: str, offset: str, strong: bool, started: float) -> Certificate:
    weak = weak_alignment(market, variant=variant, offset=offset)
    doc = {"format": FORMAT, "version": _version(market, False), "kind": "alignment", "market": exact_market(market),
           "variant": variant, "offset": offset}
    problems: list[str] = []
    mkt = check.Market(doc["market"], problems)
    entries = []
    for j in range(mkt.m):
        fit = _exact_alignment(mkt, [j], weak.weights[j], [weak.dual[j]], variant, offset)
        entries.append({"user": mkt.users[j], "epsilon": _s(fit["epsilon"]), "weights": _nest(fit["weights"]),
                        "offset": _nest(fit["offsets"][0]), "lower_bound": _s(fit["lower_bound"]),
                        "dual": _nest(fit["dual"][j])})
    doc["weak"] = entries
    doc["strong"] = None
    if strong:
        sma = strong_alignment(market, variant=variant, offset=offset)
        users = list(range(mkt.m))
        fit = _exact_alignment(mkt, users, sma.weights, list(sma.dual), variant, offset)
        doc["strong"] = {"epsilon": _s(fit["epsilon"]), "weights": _nest(fit["weights"]), "offsets": _nest(fit["offsets"]),
                         "lower_bound": _s(fit["lower_bound"]), "dual": [_nest(fit["dual"][j]) for j in users]}
    report = check.check_document(check.load_document(json.dumps(doc)))
    return Certificate(doc, report, time.perf_counter() - started)
