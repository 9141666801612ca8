"""Batches run by the gateway itself: creation and views (batches.py), input validation (validation.py), the
durable line state (store.py), one line's execution through the inference pipeline (execution.py), output
files (finalize.py) and the worker every core replica runs (worker.py)."""
