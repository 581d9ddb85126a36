"""launchbuild: pre-flight checks and reproducible images for GPU training jobs.

The public API returns the same values the CLI renders, so a queue agent can embed
launchbuild without shelling out::

    import launchbuild

    report = launchbuild.check(launchbuild.JobRequest("examples/demo", options={"gpu": ["H100"]}))
"""

from launchbuild.core.version import __version__

# The public API (api.py) and its one input type; everything else is internal.
_API = ("check", "build", "resolve", "dockerfile", "inspect", "show", "rules")
__all__ = ["__version__", "JobRequest", "check", "build", "resolve", "dockerfile", "inspect", "show", "rules"]


def __getattr__(name: str):
    # Lazy so that `import launchbuild` (and `launchbuild --version`) stays fast:
    # the pipeline pulls in docker, requests and rich.
    if name in _API:
        from launchbuild import api

        return getattr(api, name)
    if name == "JobRequest":
        from launchbuild.pipeline.request import JobRequest

        return JobRequest
    raise AttributeError(name)
