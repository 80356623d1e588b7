"""Sweeps, one job per module; :mod:`pluralign.workflows.sweep` is the driver and the public API.

* :mod:`~pluralign.workflows.sweeps.errors` — the exceptions a sweep raises;
* :mod:`~pluralign.workflows.sweeps.config` — validating sweep configs; tasks and their keys;
* :mod:`~pluralign.workflows.sweeps.tasks` — executing one task (in a worker);
* :mod:`~pluralign.workflows.sweeps.store` — the SQLite results store;
* :mod:`~pluralign.workflows.sweeps.rundir` — the run directory: its files, metadata and lock;
* :mod:`~pluralign.workflows.sweeps.backends` — running tasks serially, on a process pool or on Dask;
* :mod:`~pluralign.workflows.sweeps.progress` — the progress display;
* :mod:`~pluralign.workflows.sweeps.runs` — reading runs back and exporting them.
"""
