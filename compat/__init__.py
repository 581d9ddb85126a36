"""Compatibility engine, in two halves, by folder (an import-linter contract in pyproject.toml and
tests/unit/test_compat_purity.py keep them apart):

- `facts/`, the I/O side: `facts.inspect` and `facts.providers` (the image, from the engine, a
  registry or the tag), `facts.factcache`, `facts.nvml` (the GPUs), `facts.source_scan` (the
  source tree), `facts.ondemand` (kernels measured in wheels no table has) and
  `facts.image_env` (an image job's packages). They run before any rule, and their results go
  into a `context.CheckContext`.
- the pure side, everything else: `registry` (every rule, in order), `rules/` (the checks),
  `catalog` (`evaluate`), and the pure values and helpers they use (`context`, `image_facts`,
  `source_facts`, `cuda`, `requirecuda`, `target`, `gpus`, `measured`) with `data` (the tables
  shipped in data/, read once). Rule metadata and typed fixes are in core/. No network, no
  Docker, no file reads, no clock inside a rule.
"""
