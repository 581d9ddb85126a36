"""Kept for old habits: the refresh is `launchbuild data refresh` (see docs/data.md).

    python scripts/refresh_data.py --check        same as: launchbuild data refresh --check
    python scripts/refresh_data.py [ARGS...]      same as: launchbuild data refresh ARGS...
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from launchbuild.cli import app

    try:
        code = app(["data", "refresh", *argv], prog_name="launchbuild", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
