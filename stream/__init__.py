"""DMV Query Watch: a streaming compliance monitor for DMV-data queries."""

__version__ = "0.1.0"
