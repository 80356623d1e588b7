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

``statsmodels`` is imported only when the data is loaded; without it the error
says to ``pip install 'pluralign[data]'``.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from pluralign.model.market import Market

__all__ = ["load_anes96", "anes_market", "SELF_PLACEMENT", "PARTY_ID"]

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


def load_anes96() -> dict[str, np.ndarray]:
    """The ANES 1996 columns used here (``selfLR``, ``PID``, ``ClinLR``, ``DoleLR``, ``vote``) as arrays."""
    from pluralign.data import require

    datasets = require("statsmodels.datasets", "the ANES 1996 data (bundled with statsmodels)")
    data = datasets.anes96.load_pandas().data
    return {c: data[c].to_numpy(dtype=float) for c in ("selfLR", "PID", "ClinLR", "DoleLR", "vote")}


def _utility(theta: float, pos: np.ndarray, kind: str) -> np.ndarray:
    d = np.abs(theta - pos) / 6.0
    return 1.0 - (d if kind == "linear" else d * d)


def anes_market(
    grouping: Literal["selfLR", "PID"] = "selfLR",
    *,
    utility: Literal["linear", "quadratic"] = "linear",
    ideologues: Sequence[float] = (2.0, 4.0, 6.0),
    partisans: bool = True,
    data: dict | None = None,
) -> Market:
    """Build the ANES polling market (module docstring).

    ``grouping`` chooses the users (self-placement groups, or party-identification
    groups with their mean self-placement as ideal point); ``ideologues`` are the
    advisers' ideal points on the 1–7 scale; ``partisans`` adds the two party
    advisers. ``data`` may pass the columns of :func:`load_anes96` directly (tests).
    """
    if grouping not in ("selfLR", "PID"):
        raise ValueError(f"grouping must be 'selfLR' or 'PID'; got {grouping!r}")
    if utility not in ("linear", "quadratic"):
        raise ValueError(f"utility must be 'linear' or 'quadratic'; got {utility!r}")
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
    states = [f"C{int(c)}-D{int(o)}" for c, o in pairs]
    pos = pairs.T  # [action, state]: position of the candidate one votes for

    key = d[grouping]
    levels, sizes = np.unique(key, return_counts=True)
    labels = SELF_PLACEMENT if grouping == "selfLR" else PARTY_ID
    offset = 1 if grouping == "selfLR" else 0
    users, thetas = [], []
    for level in levels:
        users.append(labels[int(level) - offset])
        thetas.append(float(level) if grouping == "selfLR" else float(d["selfLR"][key == level].mean()))
    mass = sizes / n
    u = np.stack([_utility(theta, pos, utility) for theta in thetas])

    providers, U = [], []
    if partisans:
        providers += ["democratic_party", "republican_party"]
        U += [np.outer([1.0, 0.0], np.ones(len(states))), np.outer([0.0, 1.0], np.ones(len(states)))]
    for phi in ideologues:
        providers.append(IDEOLOGUE_NAMES.get(phi, f"adviser_at_{phi:g}"))
        U.append(_utility(phi, pos, utility))
    ideal = ", ".join(f"{name} {theta:.2f}" for name, theta in zip(users, thetas))
    return Market.from_arrays(
        prior=prior,
        p=mass,
        u=u,
        U=np.stack(U),
        name="anes96",
        states=states,
        actions=["vote_clinton", "vote_dole"],
        users=users,
        providers=providers,
        normalize=True,
        description=(
            f"ANES 1996 ({n} respondents, statsmodels.datasets.anes96). States: perceived positions of "
            f"Clinton and Dole on the 1-7 liberal-conservative scale; users: voters grouped by {grouping} "
            f"with {utility} utility around their ideal points ({ideal})."
        ),
    )
