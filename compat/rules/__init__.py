"""Rule modules, one per concern: each declares its rules' metadata and their pure checks.
Nothing registers on import; compat/registry.py lists them all, in order."""
