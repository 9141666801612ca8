"""http_facade"""
