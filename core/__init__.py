"""The kernel every stage shares: findings, provenance, image references, platforms, the
cache and rule metadata. It depends on the standard library (and `launchbuild.errors` for
its one error type) and on no stage, so any stage may import it without a cycle."""
