"""Fixtures: the real redis-server (``redis_url``) comes from ``tests/integration/conftest.py``."""
