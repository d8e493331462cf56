"""Scope, diff, plan, guard and apply; one module per feature."""
