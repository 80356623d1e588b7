"""Sweeps: config validation before any task runs, stable task keys, failures recorded, resume, kill -9 and resume.

The sweeps run the built-in ``value_of_information`` experiment; its testing hooks
``sleep_seconds`` (slow tasks) and ``fail_on_seed`` (a task that raises) stand in
for long and broken computations.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from pluralign.workflows.experiments import registry
from pluralign.workflows.sweep import (
    ResultsStore,
    SweepConfigError,
    SweepError,
    Task,
    execute_task,
    export,
    load_config,
    load_run,
    make_config,
    run_sweep,
    task_key,
)
from pluralign.workflows.sweeps.rundir import _locked

EXP = "value_of_information"


def config(**changes):
    data = {"experiment": EXP, "grid": {"n_states": [2, 3]}, "seeds": 3}
    data.update(changes)
    return make_config(data)


def store_rows(run_dir: Path) -> dict[str, tuple]:
    """key → (status, result JSON, error) of every stored task; also checks there are no duplicate keys."""
    db = sqlite3.connect(f"file:{run_dir / 'results.sqlite'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT key, status, result, error FROM tasks").fetchall()
    finally:
        db.close()
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys)), "duplicate task rows"
    return {k: (s, json.loads(r) if r else None, e) for k, s, r, e in rows}


def count_rows(run_dir: Path) -> int:
    path = run_dir / "results.sqlite"
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:  # the table is being created
        return 0


# --------------------------------------------------------------------------- config validation


@dataclass(frozen=True)
class BadConfig:
    """A config that must fail before any task runs, and the problem it must name."""

    label: str
    data: dict
    problem: str


BAD = [
    BadConfig("unknown experiment", {"experiment": "nope", "grid": {}, "seeds": 1}, "experiment: unknown experiment 'nope' (known:"),
    BadConfig("missing experiment", {"grid": {}, "seeds": 1}, "experiment: required field missing"),
    BadConfig("unknown parameter", {"experiment": EXP, "grid": {"n_statez": [2]}}, "grid.n_statez: unknown parameter of experiment 'value_of_information'"),
    BadConfig("wrong type in a list", {"experiment": EXP, "grid": {"n_states": [2, "three"]}}, "grid.n_states[1]: expected an integer, got 'three'"),
    BadConfig("wrong type, bare value", {"experiment": EXP, "grid": {"user_specific": "maybe"}}, "grid.user_specific: expected true or false, got 'maybe'"),
    BadConfig("float for an integer", {"experiment": EXP, "grid": {"n_actions": [2.5]}}, "grid.n_actions[0]: expected an integer, got 2.5"),
    BadConfig("out of range", {"experiment": EXP, "grid": {"n_states": [1]}}, "grid.n_states[0]: input should be greater than or equal to 2, got 1"),
    BadConfig("empty values", {"experiment": EXP, "grid": {"n_states": []}}, "grid.n_states: empty list of values"),
    BadConfig("duplicate values", {"experiment": EXP, "grid": {"n_states": [2, 2]}}, "grid.n_states: duplicate values"),
    BadConfig("seeds of wrong type", {"experiment": EXP, "seeds": "many"}, "seeds: expected a number of seeds or a list of seeds, got 'many'"),
    BadConfig("seed of wrong type", {"experiment": EXP, "seeds": [0, "x"]}, "seeds[1]: expected an integer, got 'x'"),
    BadConfig("negative seed", {"experiment": EXP, "seeds": [0, -1]}, "seeds[1]: seeds must be non-negative, got -1"),
    BadConfig("zero seeds", {"experiment": EXP, "seeds": 0}, "seeds: expected at least 1 seed, got 0"),
    BadConfig("unknown field", {"experiment": EXP, "grdi": {}}, "grdi: unknown field"),
    BadConfig("unknown backend", {"experiment": EXP, "backend": "spark"}, "backend: input should be 'local', 'serial' or 'dask', got 'spark'"),
    BadConfig("zero workers", {"experiment": EXP, "workers": 0}, "workers: input should be greater than or equal to 1, got 0"),
    BadConfig("scheduler without dask", {"experiment": EXP, "scheduler": "tcp://x:1"}, "scheduler: only used with backend dask"),
]


@pytest.mark.parametrize("case", BAD, ids=[c.label for c in BAD])
def test_bad_config_names_the_field(case):
    with pytest.raises(SweepConfigError) as info:
        make_config(case.data)
    assert any(p.startswith(case.problem) for p in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once():
    data = {"experiment": EXP, "grid": {"n_states": ["three"], "n_actionz": 2}, "seeds": [0, "x"], "bogus": 1}
    with pytest.raises(SweepConfigError) as info:
        make_config(data)
    assert len(info.value.problems) == 4, info.value.problems


def test_bad_config_file_fails_before_any_task_runs(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"experiment: {EXP}\ngrid:\n  n_states: [2, three]\nseeds: 2\nout: {tmp_path / 'run'}\n")
    with pytest.raises(SweepConfigError, match=r"sweep.yaml: grid.n_states\[1\]: expected an integer, got 'three'"):
        load_config(path)
    assert not (tmp_path / "run").exists()


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"experiment: {EXP}\ngrid: [unclosed\n")
    with pytest.raises(SweepConfigError, match="line 3: not valid YAML"):
        load_config(path)


def test_config_values_are_normalized_and_bare_values_listed():
    c = config(grid={"n_states": [2, 3], "n_actions": 3, "sleep_seconds": [0]}, seeds=[5, 1])
    assert c.grid == {"n_states": [2, 3], "n_actions": [3], "sleep_seconds": [0.0]}
    assert c.seeds == (5, 1)
    tasks = c.tasks()
    assert [(t.params.n_states, t.seed) for t in tasks] == [(2, 5), (2, 1), (3, 5), (3, 1)]


# --------------------------------------------------------------------------- task keys


def test_task_keys_are_stable_and_fill_in_defaults():
    defaults = registry.get(EXP).params().model_dump(mode="json")
    key = task_key(EXP, defaults, 0)
    # computed once and written down: a change here would orphan every stored result
    assert key == "50ea94af3892a612913f"  # (changed once, when the hold_file testing hooks were added)
    explicit = config(grid={"n_states": [2], "n_actions": [2]}, seeds=[0]).tasks()[0]
    implicit = config(grid={}, seeds=[0]).tasks()[0]
    assert explicit.key == implicit.key == key
    keys = [t.key for t in config(seeds=4).tasks()]
    assert len(set(keys)) == len(keys) == 8


def test_task_keys_are_the_same_in_another_process():
    code = "from pluralign.workflows.sweep import make_config as m; print(m({'experiment': 'value_of_information', 'seeds': 1}).tasks()[0].key)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == config(grid={}, seeds=1).tasks()[0].key


# --------------------------------------------------------------------------- running one task


def _numpy_row(params, seed):
    return {"x": np.float64(0.5), "n": np.int64(3), "v": np.arange(2), "bad": float("nan")}


def _not_a_dict(params, seed):
    return [1, 2]


def test_execute_task_converts_numpy_and_nan():
    params = registry.get(EXP).params()
    out = execute_task(Task("k", EXP, 0, params, _numpy_row))
    assert out.status == "ok"
    assert json.loads(out.result) == {"x": 0.5, "n": 3, "v": [0, 1], "bad": None}


def test_execute_task_turns_exceptions_into_error_outcomes():
    params = registry.get(EXP).params()
    out = execute_task(Task("k", EXP, 0, params, _not_a_dict))
    assert out.status == "error" and out.error.startswith("TypeError: value_of_information.run() must return a dict")
    failing = registry.get(EXP).params(fail_on_seed=4)
    out = execute_task(Task("k", EXP, 4, failing, registry.get(EXP).run))
    assert out.status == "error"
    assert out.error == "RuntimeError: failing on purpose for seed 4 (testing hook fail_on_seed)"
    assert "Traceback" in out.traceback


# --------------------------------------------------------------------------- sweeps


@pytest.mark.parametrize("backend", ["serial", "local"])
def test_failing_task_is_recorded_and_the_sweep_goes_on(tmp_path, backend):
    c = config(grid={"n_states": [2, 3], "fail_on_seed": 1}, seeds=3)
    result = run_sweep(c, tmp_path / "run", backend=backend, workers=2, progress=False)
    assert (result.total, result.ran, result.ok, result.failed, result.pending) == (6, 6, 4, 2, 0)
    assert [(f["seed"], f["params"]["n_states"]) for f in result.failed_tasks] == [(1, 2), (1, 3)]
    assert all(f["error"].startswith("RuntimeError: failing on purpose") for f in result.failed_tasks)
    rows = store_rows(tmp_path / "run")
    assert sorted(s for s, _, _ in rows.values()) == ["error"] * 2 + ["ok"] * 4
    run = load_run(tmp_path / "run")
    assert len(run.rows()) == 4 and {r["seed"] for r in run.rows()} == {0, 2}


def test_backends_give_the_same_results(tmp_path):
    c = config(seeds=2)
    run_sweep(c, tmp_path / "serial", backend="serial", progress=False)
    run_sweep(c, tmp_path / "local", backend="local", workers=2, progress=False)
    assert store_rows(tmp_path / "serial") == store_rows(tmp_path / "local")


def test_resume_skips_finished_tasks_and_keeps_them(tmp_path):
    run_dir = tmp_path / "run"
    first = run_sweep(config(seeds=2), run_dir, backend="serial", progress=False)
    assert (first.skipped, first.ran) == (0, 4)
    with ResultsStore(run_dir / "results.sqlite", readonly=True) as store:
        before = {t.key: t.finished_at for t in store.tasks()}
    again = run_sweep(config(seeds=3), run_dir, backend="serial", progress=False)  # one more seed
    assert (again.total, again.skipped, again.ran, again.ok) == (6, 4, 2, 6)
    with ResultsStore(run_dir / "results.sqlite", readonly=True) as store:
        after = {t.key: t.finished_at for t in store.tasks()}
    assert {k: after[k] for k in before} == before  # finished rows untouched
    info = json.loads((run_dir / "run.json").read_text())
    assert [s["ran"] for s in info["sessions"]] == [4, 2]
    assert info["tasks"] == {"total": 6, "ok": 6, "error": 0, "pending": 0, "stored": 6}
    assert info["seeds"] == [0, 1, 2] and info["versions"]["numpy"] == np.__version__


def test_failed_tasks_are_skipped_unless_retried(tmp_path):
    run_dir = tmp_path / "run"
    c = config(grid={"n_states": [2], "fail_on_seed": 0}, seeds=2)
    run_sweep(c, run_dir, backend="serial", progress=False)
    assert run_sweep(c, run_dir, backend="serial", progress=False).ran == 0
    retried = run_sweep(c, run_dir, backend="serial", progress=False, retry_failed=True)
    assert (retried.ran, retried.failed) == (1, 1)
    assert [t.attempts for t in load_run(run_dir).failed()] == [2]
    assert len(store_rows(run_dir)) == 2


def test_a_run_directory_holds_one_experiment_and_one_sweep_at_a_time(tmp_path):
    run_dir = tmp_path / "run"
    run_sweep(config(seeds=1), run_dir, backend="serial", progress=False)
    with ResultsStore(run_dir / "results.sqlite") as store:
        task = config(seeds=1).tasks()[0]
        store.record(Task("other", "other_experiment", 0, task.params, task.run), execute_task(task))
    with pytest.raises(SweepError, match="holds results of experiment 'other_experiment'"):
        run_sweep(config(seeds=1), run_dir, backend="serial", progress=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    with _locked(busy), pytest.raises(SweepError, match="another sweep is running"):
        run_sweep(config(seeds=1), busy, backend="serial", progress=False)


def test_resolved_config_reruns_the_same_sweep(tmp_path):
    run_dir = tmp_path / "run"
    run_sweep(config(seeds=2), run_dir, backend="serial", progress=False)
    resolved = load_config(run_dir / "config.yaml")
    assert Path(resolved.out) == run_dir.resolve() and resolved.seeds == (0, 1)
    assert run_sweep(resolved, backend="serial", progress=False).skipped == 4


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export(tmp_path, fmt):
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
    run_sweep(config(grid={"n_states": [2], "fail_on_seed": 1}, seeds=2), tmp_path, backend="serial", progress=False)
    path = export(tmp_path, fmt)
    if fmt == "parquet":
        table = pq.read_table(path).to_pylist()
    else:
        import csv

        table = list(csv.DictReader(path.open()))
    assert len(table) == 2
    assert {"key", "seed", "status", "n_states", "value_of_information", "error"} <= set(table[0])


# --------------------------------------------------------------------------- crashes


def _write_slow_config(path: Path, out: Path) -> Path:
    """12 tasks; those of seeds 0 and 1 (4 tasks) run at once, the 8 others wait for the returned
    'go' file, which the test creates only after it has stopped the sweep: the sweep cannot finish
    before the test acts, however busy the machine."""
    go = path.parent / "go"
    grid = {"n_states": [2, 3], "hold_file": str(go), "hold_from_seed": 2}
    path.write_text(yaml.safe_dump({"experiment": EXP, "grid": grid, "seeds": 6, "out": str(out), "workers": 2}))
    return go


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pluralign", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so leftovers can be cleaned up by group id
    )


def _wait_for_rows(proc: subprocess.Popen, run_dir: Path, at_least: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = count_rows(run_dir)
        if n >= at_least:
            return n
        if proc.poll() is not None:
            pytest.fail(f"sweep ended before it could be stopped: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail("sweep made no progress")


def _reap(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)


def test_sweep_killed_mid_way_resumes_to_the_same_results(tmp_path):
    cfg = tmp_path / "slow.yaml"
    run_dir = tmp_path / "killed"
    go = _write_slow_config(cfg, run_dir)
    proc = _start(["sweep", str(cfg), "--quiet"])
    try:
        _wait_for_rows(proc, run_dir, at_least=2)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: its workers must notice and go away
        proc.wait(timeout=30)
        go.touch()  # held tasks may now finish; nobody is left to record them
    finally:
        go.touch()
        _reap(proc)
    partial = store_rows(run_dir)
    assert 2 <= len(partial) <= 4, len(partial)  # only the 4 tasks of seeds 0 and 1 could finish

    resumed = subprocess.run([sys.executable, "-m", "pluralign", "sweep", str(cfg), "--quiet"], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(partial)} already done, {12 - len(partial)} run now" in resumed.stdout

    reference = run_sweep(load_config(cfg), tmp_path / "reference", progress=False)
    assert reference.ok == 12
    final = store_rows(run_dir)
    assert final == store_rows(tmp_path / "reference")  # same keys, same results, nothing lost, no duplicates
    assert {k: final[k] for k in partial} == partial


def test_ctrl_c_stops_cleanly_and_keeps_finished_results(tmp_path):
    cfg = tmp_path / "slow.yaml"
    run_dir = tmp_path / "run"
    go = _write_slow_config(cfg, run_dir)
    proc = _start(["sweep", str(cfg), "--quiet"])
    try:
        _wait_for_rows(proc, run_dir, at_least=2)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        go.touch()  # only now can held tasks finish
        out, err = proc.communicate(timeout=60)
    finally:
        go.touch()
        _reap(proc)
    assert proc.returncode == 130, err
    assert "interrupted: finished results are kept" in err and "Traceback" not in err
    kept = store_rows(run_dir)
    assert 2 <= len(kept) <= 4  # only the 4 tasks of seeds 0 and 1 could finish before the signal
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted" and info["sessions"][-1]["interrupted"] is True


def test_an_experiment_that_cannot_reach_workers_is_refused_before_running(tmp_path):
    from pydantic import BaseModel, ConfigDict

    class Params(BaseModel):  # defined in a function: cannot be pickled to a worker process
        model_config = ConfigDict(extra="forbid")

    def run(params, seed):
        return {"seed": seed}

    exp = registry.register(registry.Experiment("local_only", "defined in a test", Params, run))
    try:
        c = make_config({"experiment": "local_only", "seeds": 2})
        with pytest.raises(SweepError, match="cannot be sent to worker processes .* or use --backend serial"):
            run_sweep(c, tmp_path / "local", backend="local", progress=False)
        assert not (tmp_path / "local").exists()
        assert run_sweep(c, tmp_path / "serial", backend="serial", progress=False).ok == 2
    finally:
        registry._REGISTRY.pop(exp.name, None)


def test_unknown_backend_is_a_config_error(tmp_path):
    with pytest.raises(SweepConfigError, match="backend: expected one of local, serial, dask"):
        run_sweep(make_config({"experiment": EXP, "seeds": 1}), tmp_path / "run", backend="nope", progress=False)
