"""The classic engine: the docker SDK's `images.build` (the legacy builder). No mounts, so
the CA bundle is used in a throwaway install stage (see dockerfile.py)."""

from __future__ import annotations

import re
import time
from collections import deque

from launchbuild.builder.context import DOCKERFILE_PATH
from launchbuild.builder.engines.base import (
    LOG_TAIL_LINES,
    BuildResult,
    BuildStepFailed,
    LocalEngine,
    ProgressEvent,
    StepRecord,
    docker_client,
)
from launchbuild.builder.plan import Frontend
from launchbuild.errors import BadInput, InfraUnavailable

_CLASSIC_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


class ClassicSDK(LocalEngine):
    name = "classic"
    frontend = Frontend.CLASSIC

    def __init__(self, client=None):
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def build(self, context_dir, *, platform=None, no_cache=False, secrets=None, on_progress=None):
        from docker.errors import APIError, DockerException

        if secrets:
            raise BadInput("the classic builder cannot take secrets", hint="use the BuildKit engine")
        started = time.monotonic()
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        steps: list[list] = []
        image_id = ""
        error = ""
        kwargs = dict(
            path=str(context_dir), dockerfile=DOCKERFILE_PATH, network_mode="host", rm=True, forcerm=True,
            nocache=no_cache, decode=True,
        )
        if platform:
            kwargs["platform"] = platform
        try:
            for chunk in self.client.api.build(**kwargs):
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    tail.append(error)
                    if on_progress is not None:  # the progress shows the step that failed as failed
                        on_progress(ProgressEvent(error, steps[-1][0] if steps else None, time.monotonic() - started))
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = aux["ID"]
                text = chunk.get("stream")
                if not text:
                    continue
                for line in text.splitlines():
                    tail.append(line)
                    m = _CLASSIC_STEP.match(line)
                    if m:
                        steps.append([f"[{m.group(1)}/{m.group(2)}] {m.group(3)}", False])
                    elif "Using cache" in line and steps:
                        steps[-1][1] = True
                    if on_progress is not None:
                        on_progress(ProgressEvent(line, steps[-1][0] if steps else None, time.monotonic() - started))
        except (APIError, DockerException) as exc:
            if isinstance(exc, APIError):
                error = str(exc.explanation or exc)
            else:
                raise InfraUnavailable(f"Docker engine failed during the build: {str(exc)[:160]}",
                                       hint="check the Docker daemon") from None
        if error or not image_id:
            where = f" at {steps[-1][0][:120]}" if steps else ""
            raise BuildStepFailed(
                f"image build failed{where}: {(error or 'no image ID returned')[:300]}",
                hint="the log tail is in the report; nothing was tagged",
                log_tail=tuple(tail),
                step=steps[-1][0] if steps else None,
            )
        return BuildResult(image_id, tuple(StepRecord(n, c) for n, c in steps), time.monotonic() - started, tuple(tail))
