"""I/O: fetching feeds (and, later, article pages) with every limit in one place."""

from .client import Fetcher

__all__ = ["Fetcher"]
