"""Scheduler, run queue (claim, lease, complete) and the definition-type registry."""
