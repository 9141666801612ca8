"""core.interceptors"""
