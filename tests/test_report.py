"""The HTML report: figures and tables inline, nothing external, and a headless browser renders it without errors."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from pluralign.workflows.experiments import registry
from pluralign.workflows.experiments.registry import Experiment
from pluralign.workflows.report import write_report
from pluralign.workflows.sweep import make_config, run_sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sweep_into(run_dir: Path, **grid) -> None:
    data = {"experiment": "value_of_information", "grid": {"n_states": [2, 3, 4], **grid}, "seeds": 3}
    run_sweep(make_config(data), run_dir, backend="serial", progress=False)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """One run with a failing task, reported."""
    root = tmp_path_factory.mktemp("report")
    sweep_into(root, fail_on_seed=2)
    write_report(root)
    return root


def test_report_has_figures_tables_config_versions_and_failures(report_dir):
    page = (report_dir / "report.html").read_text()
    images = re.findall(r'<img class="plot" src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(PNG_MAGIC)
    assert 'data-figures-expected="1"' in page
    assert '<table class="summary">' in page and "value of info" in page
    assert '<table class="failed">' in page and "RuntimeError: failing on purpose for seed 2" in page
    assert "experiment: value_of_information" in page  # the resolved config
    assert "Seeds: 0, 1, 2 (3 seeds)" in page
    for package in ("numpy", "scipy", "highspy", "pluralign", "python"):
        assert f"<th>{package}</th>" in page
    assert '<table class="timings">' in page
    assert (report_dir / "figures" / "value_of_information-value_of_information.png").read_bytes().startswith(PNG_MAGIC)


def test_report_is_self_contained(report_dir):
    page = (report_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page, flags=re.I)
    assert not re.search(r"<script[^>]+src=|<link[^>]+stylesheet|@import|url\(", page, flags=re.I)


def test_report_of_several_runs(tmp_path):
    sweep_into(tmp_path / "a")
    sweep_into(tmp_path / "b", n_actions=3)
    report = write_report(tmp_path)
    assert report.path == (tmp_path / "report.html").resolve()
    assert report.runs == ("a", "b") and len(report.figures) == 2 and not report.problems
    page = report.path.read_text()
    assert page.count('<img class="plot"') == 2 and 'id="run-a"' in page and 'id="run-b"' in page


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int = 1


def _run(params, seed):
    return {"y": params.x + seed}


def _broken_figures(rows):
    raise ValueError("no axes today")


@pytest.fixture
def broken_experiment():
    exp = registry.register(Experiment("broken_figures", "figures raise", _Params, _run, figures=_broken_figures))
    yield exp
    registry._REGISTRY.pop(exp.name, None)


def test_a_failing_figure_is_reported_not_fatal(tmp_path, broken_experiment):
    run_sweep(make_config({"experiment": "broken_figures", "seeds": 2}), tmp_path, backend="serial", progress=False)
    report = write_report(tmp_path)
    assert report.problems == ("broken_figures: figures failed: ValueError: no axes today",)
    assert "figures failed: ValueError: no axes today" in report.path.read_text()


# --------------------------------------------------------------------------- headless Chromium


def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        message = "chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message + "; the CI set-up must install it")
        pytest.skip(message)
    return path


def render(page: Path, profile: Path) -> tuple[str, str]:
    """(DOM after load, browser log) of ``page`` in headless Chromium."""
    args = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def page_errors(log: str) -> list[str]:
    """Console messages and uncaught exceptions in Chromium's log (the report logs nothing at all)."""
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_chromium_renders_the_report_without_errors(report_dir, tmp_path):
    dom, log = render(report_dir / "report.html", tmp_path / "profile")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body))
    assert attrs["data-figures-expected"] == "1"
    assert attrs["data-figures-loaded"] == "1"  # decoded by the browser: naturalWidth > 0
    assert attrs["data-errors"] == "0"  # no script error, no resource that failed to load
    assert int(attrs["data-tables"]) >= 4 and dom.count("<table") == int(attrs["data-tables"])
    assert "value of info" in dom and "RuntimeError: failing on purpose" in dom
    assert page_errors(log) == []


def test_the_error_checks_would_catch_a_broken_page(report_dir, tmp_path):
    page = (report_dir / "report.html").read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("</body>", '<img src="missing.png"><script>undefinedFunction();</script></body>'))
    dom, log = render(broken, tmp_path / "profile")
    assert int(re.search(r'data-errors="(\d+)"', dom).group(1)) == 2
    assert any("Uncaught ReferenceError" in line for line in page_errors(log))
