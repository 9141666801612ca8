"""core.providers"""
