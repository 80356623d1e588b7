"""The files in examples/ stay valid."""

from __future__ import annotations

from pathlib import Path

from pluralign.model.io import load_market
from pluralign.workflows.sweep import load_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_sweep_config_validates():
    config = load_config(EXAMPLES / "sweep_personalization.yaml")
    assert len(config.tasks()) == 5 * 2 * 10


def test_example_market_loads():
    assert load_market(EXAMPLES / "my_market.yaml").name == "my_market"
