"""Equilibrium solvers: functions of a :class:`~pluralign.analysis.game.ProviderGame` with explicit keywords.

* :func:`~pluralign.analysis.solvers.dynamics.dynamics_solve` — best-response dynamics;
* :func:`~pluralign.analysis.solvers.enumeration.enumerate_solve` — every pure equilibrium of a policy class.

Each returns one result type (:mod:`.results`), always filled in; every candidate is verified
by ``game.verify``.
"""
