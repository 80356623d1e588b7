"""Fuzzing as a habit: a deterministic sample of ``make fuzz`` on every run of the tests.

Every (source, format, mutation class) combination appears: each bundled market and
example, as YAML and JSON, under each of the fuzzer's mutation classes. Each case must
be accepted as a sound market or refused with a located, one-line ``MarketFileError`` —
never another exception (see :mod:`pluralign.workflows.fuzz`).
"""

from __future__ import annotations

import pytest

from pluralign.workflows import fuzz


@pytest.fixture(scope="module")
def docs():
    return fuzz.sources()


def test_sources_are_every_bundled_market_and_example(docs):
    from pluralign import catalog

    assert set(catalog.names()) <= set(docs)
    assert any(name.startswith("examples/") for name in docs)


def test_mutated_markets_are_accepted_soundly_or_refused_with_a_location(docs, monkeypatch):
    from pluralign.model import limits

    for name, small in (("MAX_STATES", 500), ("MAX_ACTIONS", 500), ("MAX_USERS", 1000)):  # the same paths, cheaper
        monkeypatch.setattr(limits, name, small)
    cycle = 2 * len(docs) * len(fuzz.CLASSES)  # every source × format × mutation class once
    report = fuzz.fuzz_markets(8 * cycle, seed=0, docs=docs)  # about 370 cases per source
    assert report.ok, report.table(reasons=0)
    assert set(report.by_class) == set(fuzz.CLASSES)
    totals = {kind: sum(c[kind] for c in report.by_class.values()) for kind in ("accepted", "refused")}
    assert totals["accepted"] > 50 and totals["refused"] > 200, totals


def test_cases_are_reproducible(docs):
    first = [fuzz.make_case(docs, 7, k).raw for k in range(60)]
    again = [fuzz.make_case(docs, 7, k).raw for k in range(60)]
    assert first == again
    assert first != [fuzz.make_case(docs, 8, k).raw for k in range(60)]


def test_mutated_sweep_configs_load_or_fail_with_a_config_error():
    report = fuzz.fuzz_configs(120, seed=0)
    assert report.ok, report.table(reasons=0)


def test_command_line_sample_exits_0_or_2_with_one_line(docs):
    report = fuzz.fuzz_cli(12, seed=0, docs=docs, subprocesses=0)
    assert report.ok, report.table(reasons=0)
    assert report.by_class["bad option"]["refused"] == len(fuzz.BAD_OPTIONS)
