"""Anthropic's Messages API behind the provider Protocol: request, response, stream and error translation."""

from core.providers.anthropic.provider import ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, AnthropicProvider

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicProvider"]
