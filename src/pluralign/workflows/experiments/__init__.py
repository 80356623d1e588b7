"""Experiments: the registry, and the experiments that sweeps and ``pluralign reproduce`` run.

See :mod:`pluralign.workflows.experiments.registry` for the :class:`Experiment` API.
"""

from pluralign.workflows.experiments.registry import (
    EXPERIMENT_MODULES,
    Experiment,
    experiments,
    get,
    group_rows,
    mean_sem,
    names,
    register,
)

__all__ = ["EXPERIMENT_MODULES", "Experiment", "register", "get", "names", "experiments", "group_rows", "mean_sem"]
