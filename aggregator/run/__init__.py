"""Orchestration: the per-feed pipeline, the parser pool, the pass loop, full-text crawling,
publishing, the daemon and its health endpoint, logging set-up. It wires edges/ and steps/
together; only cli/ imports it.
"""
