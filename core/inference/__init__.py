"""core.inference"""
