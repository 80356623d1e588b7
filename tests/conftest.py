"""Shared fixtures: run the CLI in-process and capture what it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import typer
from hypothesis import settings

from pluralign.workflows.cli import app, run

# Property tests are deterministic by default (the same examples on every run, so CI cannot
# flake); `HYPOTHESIS_PROFILE=explore pytest` searches afresh with random examples.
settings.register_profile("deterministic", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """``cli("analyze", "prosecutor", "--json")`` → CliResult(code, out, err)."""

    def invoke(*args: str) -> CliResult:
        code = run(typer.main.get_command(app), list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
