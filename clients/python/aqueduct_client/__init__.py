"""Aqueduct Python client: typed helpers over the generated gRPC stubs."""
