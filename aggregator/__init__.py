"""aggregator: follow many feeds, store each article once, publish posts, Atom and JSON Feed."""

__version__ = "0.1.0"

__all__ = ["__version__"]
