"""Benchmark harness. The fake OpenAI-compatible upstream it drives is shared with the tests and lives in
``tests/support/fake_upstream.py`` (tests never import ``bench``).

Modules: ``loadgen`` (closed-loop load generator), ``gateway`` (starts the gateway under
test), ``procstat`` (/proc CPU and RSS), ``stats`` and ``report`` (summaries, targets, markdown), ``run``
(the ``python -m bench.run`` entry point). Nothing is imported here, so a load generator worker does not
pay for uvicorn.
"""

__all__ = ["gateway", "loadgen", "procstat", "report", "run", "stats"]
