# Stand-in for python:3.11-slim: Python 3.11 from Debian 12's own packages on the bookworm
# minbase (no registry is reachable, so the official image cannot be pulled).
# Like the official image: `python`, `python3`, `python3.11`, `pip` on PATH, LANG and
# PYTHON_VERSION set, and pip may install into the system interpreter: Debian marks its
# interpreter externally managed (PEP 668), the official image's is not, so the marker goes.
# The final `test` fails the build rather than ship an image whose PYTHON_VERSION lies.
ARG BASE=launchbuild-test/debian:12
FROM ${BASE}

ENV LANG=C.UTF-8
ENV PYTHON_VERSION=3.11.2

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip \
 && test "$(python -c 'import platform; print(platform.python_version())')" = "$PYTHON_VERSION"

CMD ["python3"]
