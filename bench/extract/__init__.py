"""Article extraction benchmark (issue 9): ``python -m bench.extract [--pages DIR]``.

Scores trafilatura and readability-lxml as their users run them, our extractor directly, and
the real ``aggregator fetch`` pipeline with ``full_text = true`` over a loopback server, against
the visible text of Readability.js's extraction of each page (token P/R/F1, see score.py).
"""
