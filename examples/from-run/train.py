"""The script a W&B run recorded as its codePath; the job re-runs it in the built image."""

import sys
from importlib.metadata import version

import idna
import six


def main() -> None:
    host = idna.encode("bücher.example").decode()
    print(f"python {sys.version_info.major}.{sys.version_info.minor}, six {six.__version__}, idna {version('idna')}")
    print(f"encoded host: {host}")


if __name__ == "__main__":
    main()
