"""I/O: fetching feeds, article pages and robots.txt with every limit in one place.

client.py: the Fetcher (one httpx client; global and per-host limits, conditional GET, the
streaming size cap, whole-request timeouts, retries with backoff and Retry-After, local files);
guard.py: the address guard inside httpcore's pool and the feed headers' origin rule;
robots.py: robots.txt per origin; decode.py: bounded Content-Encoding decoding; policy.py:
pure HTTP policies (what a status means, how long to wait, whether a move sticks).
"""

from .client import Fetcher

__all__ = ["Fetcher"]
