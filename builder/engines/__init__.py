"""Build engines behind one protocol: `buildkit`, `classic` (the local Docker engine) and
`kubernetes` (a rootless BuildKit Job in a cluster).

`run(plan, options, progress)` is the one entry point for every engine: one BuildPlan, one
Dockerfile, one content tag, one verification, one `BuildSummary`. See engines/run.py.
"""

from launchbuild.builder.engines.run import BuildOutcome, EngineOptions, run

__all__ = ["BuildOutcome", "EngineOptions", "run"]
