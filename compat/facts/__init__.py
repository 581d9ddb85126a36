"""compat's I/O side: gathering the facts the rules read, before any rule runs.

`inspect` and `providers/` read the image (the engine, a registry or the tag), `factcache` keeps
what they read, `nvml` reads the GPUs, `source_scan` walks the source tree, `ondemand` measures
kernels in wheels no table has and `image_env` reads an image job's packages. Their results go
into a `compat.context.CheckContext`; the pure side (compat/rules/, compat.registry, ...) never
imports this package (an import-linter contract in pyproject.toml, and
tests/unit/test_compat_purity.py).
"""
