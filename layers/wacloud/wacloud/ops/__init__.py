"""Operator tools for the `wacloud` command (dead-letter queues, a deployed stack): not in the layer."""
