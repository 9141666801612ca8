"""Benchmark harness and the shared fake OpenAI-compatible upstream.

Modules: ``fake_upstream`` (the fake: ``FakeUpstream``, ``FakeUpstreamProcess``, ``FakeUpstreamApp``,
``FakeUpstreamConfig``), ``loadgen`` (closed-loop load generator), ``gateway`` (starts the gateway under
test), ``procstat`` (/proc CPU and RSS), ``stats`` and ``report`` (summaries, targets, markdown), ``run``
(the ``python -m bench.run`` entry point). Nothing is imported here, so a load generator worker does not
pay for uvicorn.
"""

__all__ = ["fake_upstream", "gateway", "loadgen", "procstat", "report", "run", "stats"]
