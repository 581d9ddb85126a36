"""Compatibility engine, in two halves (tests/unit/test_compat_purity.py keeps them apart):

- facts, the I/O side: `inspect` and `providers/` (the image, from the engine, a registry or the
  tag), `factcache`, `nvml` (the GPUs), `source_scan` (the source tree), `ondemand` (kernels
  measured in wheels no table has) and `image_env` (an image job's packages). They run before
  any rule, and their results go into a `context.CheckContext`.
- rules, the pure side: `registry` (every rule, in order), `rule` (metadata), `rules/` (the
  checks), `fixes` (typed fixes), `catalog` (`evaluate`), and the pure helpers they use
  (`context`, `facts`, `source_facts`, `cuda`, `requirecuda`, `target`, `gpus`, `measured`,
  `imageref`) with `data` (the tables shipped in data/, read once). No network, no Docker, no
  file reads, no clock inside a rule.
"""
