"""Equilibrium solvers: functions of a :class:`~pluralign.analysis.game.ProviderGame` with explicit keywords.

* :func:`~pluralign.analysis.solvers.dynamics.dynamics_solve` — best-response dynamics;
* :func:`~pluralign.analysis.solvers.enumeration.enumerate_solve` — every pure equilibrium of a policy class;
* :func:`~pluralign.analysis.solvers.construction.construct_solve` — personalized equilibria built user by
  user at the margin ladders' limits (:mod:`.ladders` has the ladders themselves).

Each returns one result type (:mod:`.results`), always filled in; every candidate is verified
by ``game.verify``.
"""
