"""`launchbuild data refresh`: regenerate data/*.json from primary artifacts.

One small module per source (PyPI metadata, wheel binaries, NVIDIA's image Dockerfiles, the
Debian archive); `pipeline` runs them and writes the tables; `schema` checks them offline.
Nothing here is imported by `launchbuild check` except `fatbin`/`wheelzip` for on-demand
measurement, which import only the standard library.
"""
