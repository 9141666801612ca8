"""The HTTP façade: OpenAI-compatible JSON (and SSE) in, gRPC to core out. Thin by design: no business logic,
no database; the JSON <-> proto mapping is the shared codec in aqueduct_openai. Entry point:
http_facade.app.create_app."""
