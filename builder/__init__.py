"""Builder: Dockerfile per the seed build table, local and cluster engines, tags, push, verify."""
