"""CPython releases and their end of life, from the Python devguide's `include/release-cycle.json`
(the file python.org's status page is built from). Read from a local copy: the devguide is not
reachable from every build host, so `--cpython-release-cycle FILE` names it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from launchbuild.errors import BadInput

_XY = re.compile(r"^\d+\.\d+$")


def release_rows(path: Path, origin: str, checked: str) -> list[dict]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"--cpython-release-cycle {path}: cannot read it as JSON ({exc}); pass the devguide's include/release-cycle.json") from None
    if not isinstance(doc, dict):
        raise BadInput(f"--cpython-release-cycle {path}: expected an object of X.Y -> release facts")
    rows = []
    for version, facts in doc.items():
        if not _XY.match(version) or not isinstance(facts, dict) or not version.startswith("3."):
            continue
        eol = str(facts.get("end_of_life", ""))
        rows.append({"python": version, "status": facts.get("status"), "first_release": facts.get("first_release"),
                     "end_of_life": eol if re.match(r"^\d{4}-\d{2}(-\d{2})?$", eol) else None,
                     "source": f"{origin} include/release-cycle.json", "checked": checked})
    rows.sort(key=lambda r: tuple(int(p) for p in r["python"].split(".")))
    if not rows:
        raise BadInput(f"--cpython-release-cycle {path}: no 3.X entries")
    return rows
