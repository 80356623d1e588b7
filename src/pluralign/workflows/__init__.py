"""Workflows over the analyses: the command line, experiments, sweeps and reports."""
