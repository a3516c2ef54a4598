"""Integration tests: run against the real local services (see conftest.py)."""
