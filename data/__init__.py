"""Sourced compatibility tables (JSON). Each table carries `source` and `retrieved`."""
