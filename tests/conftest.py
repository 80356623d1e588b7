"""Shared fixtures: run the CLI in-process and capture what it prints."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import typer

from pluralign.workflows.cli import app, run


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
