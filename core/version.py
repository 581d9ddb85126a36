"""The package version, in core so every module can name it without importing the package
(whose `__getattr__` reaches the API: a cycle)."""

__version__ = "0.1.0"
