"""Resolver: requirements, pyproject, environment.yml or a run's package list -> a lock for the target."""
