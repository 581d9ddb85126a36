"""launchbuild: pre-flight checks and reproducible images for GPU training jobs.

The public API (``check``, ``build``) returns the same report objects the CLI renders,
so a queue agent can embed launchbuild without shelling out.
"""

from launchbuild.core.version import __version__

__all__ = ["__version__", "check", "build"]


def __getattr__(name: str):
    # Lazy so that `import launchbuild` (and `launchbuild --version`) stays fast:
    # the pipeline pulls in docker, requests and rich.
    if name in ("check", "build"):
        from launchbuild import api

        return getattr(api, name)
    raise AttributeError(name)
