"""Authentication: tokens, the token cache, and the current principal."""

from core.auth.principal import Principal, Role, current_principal, set_principal

__all__ = ["Principal", "Role", "current_principal", "set_principal"]
