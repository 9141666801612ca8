"""core.routing"""
