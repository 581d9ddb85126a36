"""A tiny stand-in for a training script: it proves its environment is the locked one."""

import platform
import sys

from importlib.metadata import version

from rich.console import Console


def main() -> None:
    console = Console()
    console.print(f"[bold]demo training job[/] on Python {platform.python_version()}")
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    loss = 1.0
    for step in range(1, steps + 1):
        loss *= 0.5
        console.print(f"step {step}/{steps} loss={loss:.4f}")
    console.print(f"rich {version('rich')}: training finished")


if __name__ == "__main__":
    main()
