"""Backends: running tasks serially, on a local process pool or on Dask, recording each outcome in the driver."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
import traceback as tb
from collections.abc import Callable, Sequence
from typing import Any

from pluralign.workflows.sweeps.config import Task
from pluralign.workflows.sweeps.errors import SweepError
from pluralign.workflows.sweeps.tasks import Outcome, execute_task, one_line

__all__ = ["BACKENDS", "Record", "default_workers"]


BACKENDS = ("local", "serial", "dask")


Record = Callable[[Task, Outcome], None]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def _error_outcome(task: Task, exc: BaseException) -> Outcome:
    return Outcome(task.key, "error", None, one_line(exc), "".join(tb.format_exception(exc)), 0.0)


def _run_serial(tasks: Sequence[Task], record: Record, **_: Any) -> None:
    for task in tasks:
        record(task, execute_task(task))


def _worker_init() -> None:
    """Workers leave Ctrl-C to the driver, and exit if their parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="pluralign-parent-watch", daemon=True).start()


def _run_local(tasks: Sequence[Task], record: Record, *, workers: int, **_: Any) -> None:
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: workers fork from a clean server that has imported the experiment once
    # (forking the driver itself is unsafe once it runs threads, e.g. the progress bar's)
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(sorted({__name__, *(t.run.__module__ for t in tasks[:1])}))
    else:  # pragma: no cover
        ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    queue = iter(tasks)
    inflight: dict[Future, Task] = {}
    window = 2 * workers

    def fill() -> None:
        for task in queue:
            inflight[pool.submit(execute_task, task)] = task
            if len(inflight) >= window:
                return

    def harvest(future: Future) -> None:
        task = inflight.pop(future)
        try:
            outcome = future.result()
        except BrokenProcessPool:
            raise SweepError(
                "a worker process died (out of memory, or a crash in native code?); finished results are kept — "
                "rerun to resume, or run with --backend serial to find the task"
            ) from None
        except Exception as exc:
            outcome = _error_outcome(task, exc)
        record(task, outcome)

    finished = False
    try:
        fill()
        while inflight:
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                harvest(future)
            fill()
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted or aborted: keep what has finished, stop the rest now
            for future in [f for f in inflight if f.done() and not f.cancelled()]:
                with contextlib.suppress(BaseException):
                    harvest(future)
            processes = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.terminate()
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=2)


def _run_dask(tasks: Sequence[Task], record: Record, *, workers: int, scheduler: str | None, **_: Any) -> int:
    """Run on a Dask cluster (started locally with ``workers`` processes if no scheduler); returns its thread count."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("the dask backend needs Dask: pip install 'pluralign[dask]'") from None

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        client = Client(scheduler or cluster, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    session = os.urandom(4).hex()
    queue = iter(tasks)
    inflight: dict[str, tuple[Any, Task]] = {}
    pending = as_completed(loop=client.loop)
    try:
        threads = sum(client.nthreads().values())
        window = max(4, 2 * threads)

        def fill() -> None:
            for task in queue:
                future = client.submit(execute_task, task, key=f"pluralign-{task.key}-{session}", pure=False)
                inflight[future.key] = (future, task)
                pending.add(future)
                if len(inflight) >= window:
                    return

        def harvest(future: Any) -> None:
            _, task = inflight.pop(future.key)
            try:
                outcome = future.result()
            except Exception as exc:
                outcome = _error_outcome(task, exc)
            record(task, outcome)

        try:
            fill()
            for future in pending:
                harvest(future)
                fill()
        except BaseException:
            for future, _task in list(inflight.values()):
                if future.status == "finished":
                    with contextlib.suppress(BaseException):
                        harvest(future)
            with contextlib.suppress(Exception):
                client.cancel([f for f, _ in inflight.values()])
            raise
        return threads
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=5)


# Each runs the tasks, calling ``record`` in this process as each finishes; the dask one returns its thread count.
_BACKENDS: dict[str, Callable[..., int | None]] = {"serial": _run_serial, "local": _run_local, "dask": _run_dask}
