"""core.tenancy"""
