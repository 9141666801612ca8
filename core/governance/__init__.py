"""Governance: who may do what (authorization), how much (limits) and which models and MCP servers (access).

`authorization` is the one place that decides whether a caller may act on a resource; `limits` admits and
settles requests against rate limits; `access` holds the exclusion lists."""
