"""`launchbuild serve`: the checker and builder as an HTTP service for queue agents.

Imported only by the `serve` command (lazily): the web stack never loads on the CLI's
`check` path. `serve(config)` runs the server until SIGTERM/SIGINT.
"""

from __future__ import annotations

from launchbuild.service.config import ServeConfig


def serve(config: ServeConfig) -> int:
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        from launchbuild.errors import BadInput

        raise BadInput(f"serve: the web stack is not installed ({exc.name})",
                       hint="pip install 'launchbuild[serve]'") from None
    from launchbuild.service.server import run

    return run(config)


__all__ = ["ServeConfig", "serve"]
