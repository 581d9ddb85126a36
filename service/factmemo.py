"""Image fact sheets in a check worker's memory, by engine image ID.

Every check inspects its base image: a round trip to the engine (`GET /images/NAME/json`, an
HTTP answer parsed by the standard library) and the fact sheet read back from disk and
validated field by field, about a fifth of an uncached check's CPU. The sheet is keyed by
the image's ID on disk already (an ID names one filesystem and config, so its facts never
change); what a repeat needs is only "does NAME still have ID X", and the server's engine
image event stream answers that without I/O (service/engine_watch.py: any image event forgets
every remembered ID; while the stream is down nothing is remembered). The server hands each
request the IDs its watch vouches for at that moment, as its result cache uses them.

So an answer is kept only when it is exactly what `inspect_image` would answer again now:
the local engine's fact sheet read back from the cache (not a first probe, whose answer
says it was not cached), for the platform asked. It is used while the server's watch
says the engine still gives NAME that ID. Anything else (a registry's or inferred
sheet, a platform mismatch, an error, the stream down) goes the full way every time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable


class FactMemo:
    """In a check worker. `known` is the server's engine watch as it stood when the request
    started (name -> image ID, only what the watch vouches for); `seen` collects the names this
    check read a reusable sheet for, so the server can learn their IDs for the next request."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self.known: dict[str, str | None] = {}
        self.seen: list[tuple[str, str]] = []
        self.hits = 0

    def begin(self, known: dict[str, str | None]) -> None:
        self.known, self.seen = dict(known), []

    def __call__(self, ref: str, platform: str, compute: Callable[[], Any]) -> Any:
        from launchbuild.core.imageref import parse_image_ref

        name = parse_image_ref(ref).familiar  # a bad reference raises here exactly as compute() would
        image_id = self.known.get(name)
        if image_id:
            hit = self._entries.get((ref, platform, image_id))
            if hit is not None:
                self._entries.move_to_end((ref, platform, image_id))
                self.hits += 1
                return hit
        facts = compute()
        if self._reusable(facts, platform):
            # Read for facts.image_id, the engine's ID for `name` just now: true for that ID forever.
            self._entries[(ref, platform, facts.image_id)] = facts
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            if image_id != facts.image_id:
                self.seen.append((name, facts.image_id))
        return facts

    @staticmethod
    def _reusable(facts: Any, platform: str) -> bool:
        from launchbuild.compat.facts.providers.docker import platform_mismatch
        from launchbuild.core.platform import Platform

        if facts.provider != "docker" or not facts.from_cache or not facts.image_id:
            return False
        # A local image of another platform is answered only after the registry was tried:
        # that answer depends on the network, not on the image ID.
        return not (facts.architecture and platform_mismatch({"Architecture": facts.architecture, "Os": "linux"},
                                                             Platform.parse(platform)))


def install() -> FactMemo:
    """Put a memo in front of `inspect_image` in this process (a check worker)."""
    from launchbuild.compat.facts import inspect

    memo = FactMemo()
    inspect.MEMO = memo
    return memo
