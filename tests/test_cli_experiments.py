"""Commands experiments, sweep, reproduce and report: exit codes, one-line errors, what they print and write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pluralign.workflows.experiments import registry
from pluralign.workflows.reproduce import resolve_names


def write_config(path: Path, out: Path, grid: str = "{n_states: [2, 3]}", seeds: str = "2") -> Path:
    path.write_text(f"experiment: value_of_information\ngrid: {grid}\nseeds: {seeds}\nout: {out}\n")
    return path


def test_experiments_lists_the_registry(cli):
    res = cli("experiments", "--json")
    assert res.code == 0, res.err
    items = {e["name"]: e for e in json.loads(res.out)}
    voi = items["value_of_information"]
    assert voi["parameters"]["n_states"] == 2 and voi["quick_tasks"] == 20
    assert "value_of_information" in cli("experiments").out


def test_sweep_runs_resumes_and_prints_a_summary(cli, tmp_path):
    cfg = write_config(tmp_path / "s.yaml", tmp_path / "run")
    res = cli("sweep", str(cfg), "--backend", "serial")
    assert res.code == 0, res.err
    assert "value_of_information: 4 tasks — 0 already done, 4 run now; 4 ok, 0 failed" in res.out
    res = cli("sweep", str(cfg), "--json", "--backend", "serial")
    data = json.loads(res.out)
    assert (data["skipped"], data["ran"], data["ok"]) == (4, 0, 4)
    assert Path(data["run_dir"]) == (tmp_path / "run").resolve()


def test_sweep_with_failed_tasks_lists_them_and_exits_1(cli, tmp_path):
    cfg = write_config(tmp_path / "s.yaml", tmp_path / "run", grid="{n_states: 2, fail_on_seed: 1}", seeds="3")
    res = cli("sweep", str(cfg), "--workers", "2")
    assert res.code == 1
    assert "failed tasks (1)" in res.out and "RuntimeError: failing on purpose for seed 1" in res.out
    assert "1 failed" in res.out


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "{cfg_bad}"], "grid.n_states[1]: expected an integer, got 'three'"),
        (["sweep", "{tmp}/missing.yaml"], "missing.yaml: no such file"),
        (["sweep", "{cfg}", "--backend", "spark"], "--backend must be local, serial or dask"),
        (["sweep", "{cfg}", "--workers", "0"], "--workers must be at least 1"),
        (["sweep", "{cfg}", "--export", "xlsx"], "--export must be parquet or csv"),
        (["sweep", "{cfg}", "--backend", "local", "--scheduler", "tcp://h:1"], "--scheduler is only used with --backend dask"),
        (["reproduce", "nope"], "unknown experiment 'nope' (known: "),
        (["report", "{tmp}/nowhere"], "nowhere: no such directory"),
        (["report", "{tmp}"], "no sweep results here"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    cfg = write_config(tmp_path / "s.yaml", tmp_path / "run")
    bad = write_config(tmp_path / "bad.yaml", tmp_path / "run", grid="{n_states: [2, three]}")
    subs = {"{cfg}": str(cfg), "{cfg_bad}": str(bad), "{tmp}": str(tmp_path)}
    argv = []
    for a in args:
        for k, v in subs.items():
            a = a.replace(k, v)
        argv.append(a)
    res = cli(*argv)
    assert res.code == 2, (res.out, res.err)
    assert message in res.err and len(res.err.strip().splitlines()) == 1, res.err
    assert not (tmp_path / "run").exists()  # nothing ran


def test_sweep_export(cli, tmp_path):
    pytest.importorskip("pyarrow")
    cfg = write_config(tmp_path / "s.yaml", tmp_path / "run")
    res = cli("sweep", str(cfg), "--backend", "serial", "--export", "parquet")
    assert res.code == 0 and (tmp_path / "run" / "results.parquet").exists()


def test_reproduce_quick_writes_the_report_and_resumes(cli, tmp_path):
    out = tmp_path / "out"
    res = cli("reproduce", "value_of_information", "--quick", "--out", str(out), "--workers", "2")
    assert res.code == 0, res.err
    report = out / "report.html"
    assert f"report: {report.resolve()}" in res.out
    assert "value_of_information: summary" in res.out and "took " in res.out
    assert (out / "value_of_information" / "results.sqlite").exists()
    assert (out / "figures" / "value_of_information-value_of_information.png").exists()
    page = report.read_text()
    assert '<img class="plot"' in page and 'id="run-value_of_information"' in page

    again = cli("reproduce", "value_of_information", "--quick", "--out", str(out), "--json", "--backend", "serial")
    data = json.loads(again.out)
    assert [(s["skipped"], s["ran"]) for s in data["sweeps"]] == [(20, 0)]


def test_report_command_prints_the_path(cli, tmp_path):
    cfg = write_config(tmp_path / "s.yaml", tmp_path / "run")
    assert cli("sweep", str(cfg), "--backend", "serial").code == 0
    res = cli("report", str(tmp_path / "run"))
    assert res.code == 0, res.err
    assert res.out.strip() == str((tmp_path / "run" / "report.html").resolve())
    res = cli("report", str(tmp_path), "-o", str(tmp_path / "elsewhere.html"), "--json")
    assert json.loads(res.out)["path"] == str((tmp_path / "elsewhere.html").resolve())


def test_resolve_names():
    assert resolve_names(["all"]) == registry.names() and "value_of_information" in resolve_names(["all"])
    assert resolve_names(["value_of_information", "all"]).count("value_of_information") == 1
    with pytest.raises(KeyError, match="unknown experiment 'nope'"):
        resolve_names(["nope"])
