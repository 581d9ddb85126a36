"""The pipeline behind `launchbuild.api`: prepare (read the job, fetch its source, layer the
options), check (facts and rules -> a `Report`) and build (plan, engine, verification, push).

Every stage takes and returns frozen values and never prints: progress goes through
`launchbuild.progress.Progress`, presentation lives on the report side (`report/formats/`,
`report/tables.py`). `JobRequest` (pipeline/request.py) is the one input every caller builds.
"""

from launchbuild.pipeline.request import JobRequest

__all__ = ["JobRequest"]
