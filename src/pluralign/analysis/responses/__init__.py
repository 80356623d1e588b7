"""Provider best-response strategies, one module each; the game picks one (docs/model.md §8, §14, §15)."""
