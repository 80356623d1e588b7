"""Market files: one test per validation rule (docs/model.md §13), round trips, and the Market API."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pluralign import catalog
from pluralign.model.io import dump_market, load_market, parse_market, save_market, validate_market_file
from pluralign.model.market import Market
from pluralign.model.validation import MarketError, MarketFileError

GOOD = {
    "name": "prosecutor",
    "states": ["innocent", "guilty"],
    "prior": [0.7, 0.3],
    "actions": ["acquit", "convict"],
    "users": [
        {"name": "judge", "mass": 0.5, "utility": {"acquit": [1, 0], "convict": [0, 1]}},
        {"name": "jury", "mass": 0.5, "utility": {"acquit": [0.9, 0.1], "convict": [0.2, 0.8]}},
    ],
    "providers": [
        {"name": "prosecutor", "utility": {"acquit": [0, 0], "convict": [1, 1]}},
        {
            "name": "defence",
            "utility": {
                "judge": {"acquit": [1, 1], "convict": [0, 0]},
                "jury": {"acquit": [1, 0.5], "convict": [0, 0]},
            },
        },
    ],
}


def good() -> dict:
    return json.loads(json.dumps(GOOD))


def problems_of(doc: dict) -> list:
    text = yaml.safe_dump(doc, sort_keys=False)
    with pytest.raises(MarketFileError) as info:
        parse_market(text, source="m.yaml")
    return info.value.problems


def only_message(doc: dict) -> str:
    probs = problems_of(doc)
    return str(probs[0])


def test_good_document_loads():
    m = parse_market(yaml.safe_dump(good()))
    assert m.n_users == 2 and m.n_providers == 2
    assert m.user_specific == (False, True)
    np.testing.assert_array_equal(m.U[1, 1], [[1, 0.5], [0, 0]])
    np.testing.assert_array_equal(m.P, np.diag([0.7, 0.3]))


# ------------------------------------------------------------------ one test per rule
def mutate(fn):
    doc = good()
    fn(doc)
    return doc


RULES = [
    # (id, mutation, text the message must contain)
    ("utility-row-length", lambda d: d["users"][1]["utility"].__setitem__("convict", [0, 1, 0]),
     "users[1].utility.convict: expected 2 values (one per state), got 3"),
    ("unknown-action-in-utility", lambda d: d["users"][0]["utility"].__setitem__("pardon", [0, 0]),
     "users[0].utility.pardon: unknown action 'pardon'"),
    ("missing-action-in-utility", lambda d: d["users"][0]["utility"].pop("convict"),
     "users[0].utility: missing action 'convict'"),
    ("utility-above-one", lambda d: d["providers"][0]["utility"]["convict"].__setitem__(0, 1.5),
     "providers[0].utility.convict[0]: utility must lie in [0, 1], got 1.5"),
    ("utility-negative", lambda d: d["users"][0]["utility"]["acquit"].__setitem__(1, -0.1),
     "users[0].utility.acquit[1]: utility must lie in [0, 1]"),
    ("utility-nan", lambda d: d["users"][0]["utility"]["acquit"].__setitem__(1, float("nan")),
     "users[0].utility.acquit[1]: utility is NaN"),
    ("utility-not-number", lambda d: d["users"][0]["utility"]["acquit"].__setitem__(1, "high"),
     "users[0].utility.acquit[1]: expected a number for utility, got the text 'high'"),
    ("prior-sum", lambda d: d.__setitem__("prior", [0.7, 0.4]), "prior: prior probabilities must sum to 1"),
    ("prior-length", lambda d: d.__setitem__("prior", [1.0]), "prior: expected 2 values (one per state), got 1"),
    ("prior-outside", lambda d: d.__setitem__("prior", [1.2, -0.2]), "prior[0]: prior probability must lie in [0, 1]"),
    ("masses-sum", lambda d: d["users"][0].__setitem__("mass", 0.7), "users: user masses must sum to 1, got 1.2"),
    ("mass-nonpositive", lambda d: d["users"][0].__setitem__("mass", 0), "users[0].mass: mass must be a positive number"),
    ("duplicate-user", lambda d: d["users"][1].__setitem__("name", "judge"), "users[1].name: duplicate user name 'judge'"),
    ("duplicate-provider", lambda d: d["providers"][1].__setitem__("name", "prosecutor"),
     "providers[1].name: duplicate provider name 'prosecutor'"),
    ("duplicate-state", lambda d: d.__setitem__("states", ["innocent", "innocent"]), "states[1]: duplicate state name 'innocent'"),
    ("duplicate-action", lambda d: d.__setitem__("actions", ["acquit", "acquit"]), "actions[1]: duplicate action name 'acquit'"),
    ("empty-states", lambda d: d.__setitem__("states", []), "states: expected at least one state"),
    ("empty-actions", lambda d: d.__setitem__("actions", []), "actions: expected at least one action"),
    ("empty-users", lambda d: d.__setitem__("users", []), "users: expected at least one entry in users"),
    ("empty-providers", lambda d: d.__setitem__("providers", []), "providers: expected at least one entry in providers"),
    ("missing-field", lambda d: d.pop("prior"), "missing required field 'prior'"),
    ("unknown-field", lambda d: d.__setitem__("priors", [0.5, 0.5]), "priors: unknown field"),
    ("unknown-user-field", lambda d: d["users"][0].__setitem__("weight", 1), "users[0].weight: unknown field"),
    ("unknown-user-in-provider", lambda d: d["providers"][1]["utility"].__setitem__("clerk", {"acquit": [0, 0], "convict": [0, 0]}),
     "providers[1].utility.clerk: unknown user 'clerk'"),
    ("missing-user-in-provider", lambda d: d["providers"][1]["utility"].pop("jury"), "providers[1].utility: missing user 'jury'"),
    ("signals-without-observation", lambda d: d.__setitem__("signals", ["clean", "dirty"]),
     "signals: 'signals' needs 'observation' as well"),
    ("observation-row-sum", lambda d: d.update(signals=["clean", "dirty"], observation={"innocent": [0.9, 0.2], "guilty": [0.2, 0.8]}),
     "observation.innocent: P(signal | state) must sum to 1"),
    ("observation-unknown-state", lambda d: d.update(signals=["clean", "dirty"], observation={"innocent": [0.9, 0.1], "guilty": [0.2, 0.8], "maybe": [1, 0]}),
     "observation.maybe: unknown state 'maybe'"),
    ("normalize-not-bool", lambda d: d.__setitem__("normalize", "yes"), "normalize: expected true or false"),
    ("name-not-text", lambda d: d.__setitem__("name", 3), "name: expected a non-empty text"),
    ("user-not-mapping", lambda d: d["users"].__setitem__(0, "judge"), "users[0]: expected a mapping"),
]


@pytest.mark.parametrize("mutation,expected", [(m, e) for _, m, e in RULES], ids=[r[0] for r in RULES])
def test_each_rule_names_the_field(mutation, expected):
    probs = problems_of(mutate(mutation))
    texts = [str(p) for p in probs]
    assert any(expected in t for t in texts), texts
    assert all(t.startswith("m.yaml:") for t in texts)


def test_line_numbers_point_at_the_field():
    text = yaml.safe_dump(mutate(lambda d: d["users"][1]["utility"].__setitem__("convict", [0, 1, 0])), sort_keys=False)
    with pytest.raises(MarketFileError) as info:
        parse_market(text, source="m.yaml")
    (p,) = info.value.problems
    line = text.splitlines()[p.line - 1]
    assert "convict" in line


def test_every_problem_is_reported():
    doc = good()
    doc["prior"] = [0.5, 0.6]
    doc["users"][0]["mass"] = -1
    doc["providers"][0]["utility"]["acquit"] = [2, 0]
    probs = problems_of(doc)
    paths = {p.path for p in probs}
    assert {"prior", "users[0].mass", "providers[0].utility.acquit[0]"} <= paths
    err = MarketFileError(probs)
    assert "\n" not in str(err) and "more problem" in str(err)


def test_normalize_true_rescales_masses():
    doc = good()
    doc["normalize"] = True
    doc["users"][0]["mass"] = 3
    doc["users"][1]["mass"] = 1
    m = parse_market(yaml.safe_dump(doc))
    np.testing.assert_allclose(m.p, [0.75, 0.25])
    assert m.mass.tolist() == [3, 1]


def test_not_yaml_and_not_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("states: [a, b\nprior: ]")
    (p,) = validate_market_file(bad)
    assert "not valid YAML" in p.message and p.line is not None
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    assert "must be a mapping" in validate_market_file(lst)[0].message
    js = tmp_path / "bad.json"
    js.write_text('{"states": [1,}')
    assert "not valid JSON" in validate_market_file(js)[0].message
    assert validate_market_file(tmp_path / "missing.yaml")[0].message == "no such file"


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name", catalog.names())
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_catalog_round_trip(name, fmt, tmp_path):
    original = catalog.load(name)
    path = save_market(original, tmp_path / f"{name}.{fmt}")
    again = load_market(path)
    assert again.equals(original)
    assert dump_market(again, fmt) == path.read_text()


def test_round_trip_with_observation_and_normalize(tmp_path):
    m = Market.from_arrays(
        prior=[0.25, 0.75],
        observation=[[0.1, 0.9], [0.6, 0.4]],
        p=[2.0, 6.0],
        normalize=True,
        u=np.random.default_rng(0).random((2, 3, 2)),
        U=np.random.default_rng(1).random((2, 2, 3, 2)),
        name="obs",
    )
    again = load_market(save_market(m, tmp_path / "obs.yaml"))
    assert again.equals(m)
    np.testing.assert_allclose(again.P, [[0.025, 0.45], [0.225, 0.3]])


# ------------------------------------------------------------------ arrays API
def test_from_arrays_checks_arrays():
    with pytest.raises(MarketError, match="p: masses must sum to 1"):
        Market.from_arrays(P=np.diag([0.5, 0.5]), u=np.zeros((2, 2, 2)), U=np.zeros((1, 2, 2)), p=[0.5, 0.6])
    with pytest.raises(MarketError, match=r"u: entries must be finite and in \[0, 1\]"):
        Market.from_arrays(P=np.diag([0.5, 0.5]), u=np.full((1, 2, 2), 2.0), U=np.zeros((1, 2, 2)))
    with pytest.raises(MarketError, match="prior: probabilities must sum to 1"):
        Market.from_arrays(P=np.diag([0.5, 0.6]), u=np.zeros((1, 2, 2)), U=np.zeros((1, 2, 2)))


def test_market_is_immutable():
    m = catalog.load("prosecutor")
    with pytest.raises(ValueError):
        m.u[0, 0, 0] = 0.5
    with pytest.raises(AttributeError):
        m.name = "other"


def test_P_from_joint_keeps_noisy_observations():
    P = np.array([[0.3, 0.1], [0.2, 0.4]])
    m = Market.from_arrays(P=P, u=np.zeros((1, 2, 2)), U=np.zeros((1, 2, 2)))
    np.testing.assert_allclose(m.P, P)
    assert not m.observes_state


def test_replace_revalidates():
    m = catalog.load("biased_pair")
    m2 = m.replace(u=m.u * 0.5)
    np.testing.assert_allclose(m2.u, m.u * 0.5)
    with pytest.raises(MarketError):
        m.replace(u=m.u * 3)
