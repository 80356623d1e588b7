"""A polling market from the 1996 American National Election Study (bundled with ``statsmodels``).

The survey (944 respondents, public domain; ``statsmodels.datasets.anes96``) gives
each respondent's self-placement on the 7-point liberal–conservative scale
(``selfLR``, 1 = extremely liberal … 7 = extremely conservative), party
identification (``PID``, 0 = strong Democrat … 6 = strong Republican), and where
she places Clinton (``ClinLR``) and Dole (``DoleLR``) on the same scale.

The market:

* **states** y: where the candidates stand, a pair (Clinton's position, Dole's
  position); the **prior** is the electorate's perception, the share of
  respondents who place the candidates at that pair;
* **actions**: vote Clinton, vote Dole;
* **users**: voter groups by self-placement (or by party identification), with
  mass = share of respondents and an ideal point θ (the self-placement, or the
  group's mean self-placement); utility of voting for candidate X in state y::

      u_θ(X, y) = 1 − |θ − pos_X(y)| / 6        (``utility="linear"``)
      u_θ(X, y) = 1 − ((θ − pos_X(y)) / 6)²     (``utility="quadratic"``)

* **providers** ("advisers"): two partisans who want votes for their candidate
  whatever the state (``U = 1[vote for the party's candidate]``), and ideologues
  with ideal points φ (default liberal 2, moderate 4, conservative 6) whose
  utility has the voters' form with θ = φ.

Weak Market Alignment then asks which voter groups' preferences are a nonnegative
mix of the advisers' plus a constant (covered) and how far the others are.

Many user types, few states (options, all off by default):

* ``grouping="selfLR_PID"``: one group per observed (self-placement, party
  identification) cell — up to 7 × 7 = 49, minus the cells with no respondent
  (46 in the 1996 survey) — named ``"<self-placement>/<party id>"``, θ = the
  cell's self-placement;
* ``partisanship=w`` (0 ≤ w ≤ 1): a party-loyalty term,
  ``u = (1 − w)·u_θ + w·ℓ``, with ``ℓ(Clinton) = 1 − π/6``, ``ℓ(Dole) = π/6`` and π
  the group's (mean) party identification. At w = 0 (the default) groups with the
  same θ have identical utilities, so the 46 cells are only 7 distinct types; with
  w > 0 every cell is its own type. ℓ is a mix of the two partisans' utilities, so
  with them present the term never hurts coverage;
* ``states="scenarios"``: three **scenarios** instead of the position pairs, by the
  two facts a vote turns on — the candidates' order, and for the usual order
  (Dole right of Clinton) which one is perceived nearer the centre of the scale
  (4, the median self-placement): ``clinton_nearer_centre``,
  ``dole_nearer_or_tied`` (Dole nearer, or both equally near) and ``reversed``
  (Dole perceived at or left of Clinton). The extreme voters' best vote depends
  only on the order, and in the usual order the moderate voter's only on who is
  nearer the centre: the extremes' best vote is constant within every scenario,
  the moderate's within the first two. A scenario's prior is the
  share of respondents in it, and every utility (voters' and advisers') is its
  expectation within the scenario under the perception prior,
  ``u(X, s) = Σ_{y∈s} P(y) u(X, y) / Σ_{y∈s} P(y)`` — the values of providers
  whose schemes depend only on the scenario are then the same in both markets.

``statsmodels`` is imported only when the data is loaded; without it the error
says to ``pip install 'pluralign[data]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from pluralign.model.market import Market

__all__ = ["load_anes96", "anes_market", "scenario_of", "SELF_PLACEMENT", "PARTY_ID", "SCENARIOS"]

SELF_PLACEMENT = (
    "extremely_liberal",
    "liberal",
    "slightly_liberal",
    "moderate",
    "slightly_conservative",
    "conservative",
    "extremely_conservative",
)
PARTY_ID = (
    "strong_democrat",
    "weak_democrat",
    "independent_democrat",
    "independent",
    "independent_republican",
    "weak_republican",
    "strong_republican",
)
IDEOLOGUE_NAMES = {2.0: "liberal_adviser", 4.0: "moderate_adviser", 6.0: "conservative_adviser"}
GROUPINGS = ("selfLR", "PID", "selfLR_PID")
STATE_SPACES = ("pairs", "scenarios")
CENTRE = 4.0
SCENARIOS = ("clinton_nearer_centre", "dole_nearer_or_tied", "reversed")


def load_anes96() -> dict[str, np.ndarray]:
    """The ANES 1996 columns used here (``selfLR``, ``PID``, ``ClinLR``, ``DoleLR``, ``vote``) as arrays."""
    from pluralign.data import require

    datasets = require("statsmodels.datasets", "the ANES 1996 data (bundled with statsmodels)")
    data = datasets.anes96.load_pandas().data
    return {c: data[c].to_numpy(dtype=float) for c in ("selfLR", "PID", "ClinLR", "DoleLR", "vote")}


def _utility(theta: float, pos: np.ndarray, kind: str) -> np.ndarray:
    d = np.abs(theta - pos) / 6.0
    return 1.0 - (d if kind == "linear" else d * d)


def scenario_of(clinton, dole) -> np.ndarray:
    """Scenario index (into :data:`SCENARIOS`) of perceived positions (module docstring)."""
    clinton, dole = np.asarray(clinton, dtype=float), np.asarray(dole, dtype=float)
    clinton_nearer = np.abs(dole - CENTRE) > np.abs(clinton - CENTRE)
    return np.where(dole <= clinton, 2, np.where(clinton_nearer, 0, 1))


def _coarsen(prior: np.ndarray, arrays: list[np.ndarray], cell: np.ndarray):
    """Prior and state-last arrays on the cells ``cell[y]`` (empty cells dropped): E[· | cell] under ``prior``."""
    used = np.unique(cell)
    member = (cell[:, None] == used[None, :]).astype(float)  # [fine state, cell]
    mass = prior @ member
    weights = member * prior[:, None] / mass  # columns: the prior conditional on the cell
    return used, mass, [np.clip(a @ weights, 0.0, 1.0) for a in arrays]


def anes_market(
    grouping: Literal["selfLR", "PID", "selfLR_PID"] = "selfLR",
    *,
    utility: Literal["linear", "quadratic"] = "linear",
    ideologues: Sequence[float] = (2.0, 4.0, 6.0),
    partisans: bool = True,
    states: Literal["pairs", "scenarios"] = "pairs",
    partisanship: float = 0.0,
    data: dict | None = None,
) -> Market:
    """Build the ANES polling market (module docstring).

    ``grouping`` chooses the users (self-placement groups, party-identification
    groups with their mean self-placement as ideal point, or one group per
    observed self-placement × party-identification cell); ``ideologues`` are the
    advisers' ideal points on the 1–7 scale; ``partisans`` adds the two party
    advisers; ``states="scenarios"`` replaces the position pairs by the three
    scenarios of :data:`SCENARIOS` (utilities averaged within each under the
    perception prior); ``partisanship`` weighs the voters' party loyalty.
    ``data`` may pass the columns of :func:`load_anes96` directly (tests).
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {', '.join(map(repr, GROUPINGS))}; got {grouping!r}")
    if utility not in ("linear", "quadratic"):
        raise ValueError(f"utility must be 'linear' or 'quadratic'; got {utility!r}")
    if states not in STATE_SPACES:
        raise ValueError(f"states must be 'pairs' or 'scenarios'; got {states!r}")
    partisanship = float(partisanship)
    if not 0.0 <= partisanship <= 1.0:
        raise ValueError(f"partisanship must be between 0 and 1; got {partisanship}")
    ideologues = [float(x) for x in ideologues]
    for phi in ideologues:
        if not 1.0 <= phi <= 7.0:
            raise ValueError(f"ideologues: ideal points must be on the 1-7 scale; got {phi}")
    if not ideologues and not partisans:
        raise ValueError("the market needs at least one adviser (ideologues or partisans)")
    d = load_anes96() if data is None else {k: np.asarray(v, dtype=float) for k, v in data.items()}
    n = d["selfLR"].size

    pairs, counts = np.unique(np.stack([d["ClinLR"], d["DoleLR"]], axis=1), axis=0, return_counts=True)
    prior = counts / counts.sum()
    state_names = [f"C{int(c)}-D{int(o)}" for c, o in pairs]
    pos = pairs.T  # [action, state]: position of the candidate one votes for

    if grouping == "selfLR_PID":
        cells, sizes = np.unique(np.stack([d["selfLR"], d["PID"]], axis=1), axis=0, return_counts=True)
        users = [f"{SELF_PLACEMENT[int(lr) - 1]}/{PARTY_ID[int(pid)]}" for lr, pid in cells]
        thetas = [float(lr) for lr, _ in cells]
        pids = [float(pid) for _, pid in cells]
    else:
        key = d[grouping]
        levels, sizes = np.unique(key, return_counts=True)
        labels = SELF_PLACEMENT if grouping == "selfLR" else PARTY_ID
        offset = 1 if grouping == "selfLR" else 0
        users, thetas, pids = [], [], []
        for level in levels:
            users.append(labels[int(level) - offset])
            thetas.append(float(level) if grouping == "selfLR" else float(d["selfLR"][key == level].mean()))
            pids.append(float(d["PID"][key == level].mean()))
    mass = sizes / n
    u = np.stack([_utility(theta, pos, utility) for theta in thetas])
    if partisanship > 0:
        loyalty = np.stack([[1.0 - pid / 6.0, pid / 6.0] for pid in pids])  # [user, action]
        u = (1.0 - partisanship) * u + partisanship * loyalty[:, :, None]

    providers, U = [], []
    if partisans:
        providers += ["democratic_party", "republican_party"]
        U += [np.outer([1.0, 0.0], np.ones(len(state_names))), np.outer([0.0, 1.0], np.ones(len(state_names)))]
    for phi in ideologues:
        providers.append(IDEOLOGUE_NAMES.get(phi, f"adviser_at_{phi:g}"))
        U.append(_utility(phi, pos, utility))
    U = np.stack(U)

    state_text = "perceived positions of Clinton and Dole on the 1-7 liberal-conservative scale"
    if states == "scenarios":
        used, prior, (u, U) = _coarsen(prior, [u, U], scenario_of(*pairs.T))
        state_names = [SCENARIOS[k] for k in used]
        state_text = (
            "the order of Clinton's and Dole's perceived positions on the 1-7 liberal-conservative scale and, "
            f"in the usual order, which is nearer the centre (4) ({len(pairs)} perceived position pairs in "
            f"{len(used)} scenarios; utilities are expectations within each scenario)"
        )
    if grouping == "selfLR_PID":
        ideal = f"{len(users)} self-placement x party-identification cells with respondents, ideal point = the self-placement"
    else:
        ideal = ", ".join(f"{name} {theta:.2f}" for name, theta in zip(users, thetas))
    loyal = f", weight {partisanship:g} on party loyalty" if partisanship > 0 else ""
    return Market.from_arrays(
        prior=prior,
        p=mass,
        u=u,
        U=U,
        name="anes96",
        states=state_names,
        actions=["vote_clinton", "vote_dole"],
        users=users,
        providers=providers,
        normalize=True,
        description=(
            f"ANES 1996 ({n} respondents, statsmodels.datasets.anes96). States: {state_text}; users: voters grouped by {grouping} "
            f"with {utility} utility around their ideal points{loyal} ({ideal})."
        ),
    )
