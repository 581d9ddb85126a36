"""Compatibility engine: image facts, sourced data tables, and the rule catalog."""
