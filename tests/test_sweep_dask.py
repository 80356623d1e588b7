"""The Dask backend passes the sweep tests of the local one, on a cluster these tests start themselves."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest

distributed = pytest.importorskip("distributed")

from test_sweep import _reap, _start, _wait_for_rows, _write_slow_config, config, store_rows  # noqa: E402

from pluralign.workflows.sweep import load_config, load_run, run_sweep  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    """A two-worker local Dask cluster (separate processes) for this module's tests."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster:
        yield cluster.scheduler_address


def test_failing_task_is_recorded_and_the_sweep_goes_on(tmp_path, scheduler):
    c = config(grid={"n_states": [2, 3], "fail_on_seed": 1}, seeds=3)
    result = run_sweep(c, tmp_path / "run", backend="dask", scheduler=scheduler, progress=False)
    assert (result.backend, result.total, result.ran, result.ok, result.failed) == ("dask", 6, 6, 4, 2)
    assert all(f["error"].startswith("RuntimeError: failing on purpose") for f in result.failed_tasks)
    assert {r["seed"] for r in load_run(tmp_path / "run").rows()} == {0, 2}


def test_dask_and_serial_give_the_same_results(tmp_path, scheduler):
    c = config(seeds=2)
    run_sweep(c, tmp_path / "serial", backend="serial", progress=False)
    run_sweep(c, tmp_path / "dask", backend="dask", scheduler=scheduler, progress=False)
    assert store_rows(tmp_path / "serial") == store_rows(tmp_path / "dask")


def test_resume_skips_finished_tasks(tmp_path, scheduler):
    run_dir = tmp_path / "run"
    run_sweep(config(seeds=2), run_dir, backend="dask", scheduler=scheduler, progress=False)
    again = run_sweep(config(seeds=3), run_dir, backend="dask", scheduler=scheduler, progress=False)
    assert (again.total, again.skipped, again.ran, again.ok) == (6, 4, 2, 6)
    assert len(store_rows(run_dir)) == 6


def test_cli_sweep_on_the_cluster(tmp_path, scheduler, cli):
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(f"experiment: value_of_information\ngrid: {{n_states: [2, 3]}}\nseeds: 2\nout: {tmp_path / 'run'}\n")
    res = cli("sweep", str(cfg), "--scheduler", scheduler, "--json")  # --scheduler implies --backend dask
    assert res.code == 0, res.err
    assert '"backend": "dask"' in res.out and '"ok": 4' in res.out


def test_sweep_killed_mid_way_resumes_to_the_same_results(tmp_path, scheduler):
    cfg = tmp_path / "slow.yaml"
    run_dir = tmp_path / "killed"
    go = _write_slow_config(cfg, run_dir)
    args = ["sweep", str(cfg), "--quiet", "--backend", "dask", "--scheduler", scheduler]
    proc = _start(args)
    try:
        _wait_for_rows(proc, run_dir, at_least=2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        go.touch()  # held tasks may now finish; nobody is left to record them
    finally:
        go.touch()
        _reap(proc)
    partial = store_rows(run_dir)
    assert 2 <= len(partial) <= 4, len(partial)  # only the 4 tasks of seeds 0 and 1 could finish

    resumed = subprocess.run([sys.executable, "-m", "pluralign", *args], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(partial)} already done" in resumed.stdout

    run_sweep(load_config(cfg), tmp_path / "reference", backend="dask", scheduler=scheduler, progress=False)
    final = store_rows(run_dir)
    assert final == store_rows(tmp_path / "reference")
    assert {k: final[k] for k in partial} == partial
