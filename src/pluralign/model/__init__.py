"""The model of docs/model.md §2–§4: markets, market files, schemes and profiles, users' responses."""
