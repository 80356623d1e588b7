"""Analyses on markets: benchmarks, persuasion, alignment, best responses, equilibria, guarantees."""
