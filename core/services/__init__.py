"""core.services"""
