"""Pure steps: bytes and records in, records out; no I/O, no clock (``now`` is a parameter).

parse/ (feed documents), sources/ (list pages and JSON APIs), extract/ (HTML: text, images,
sanitizing, article bodies), normalize, filters, digest (one document -> the articles a feed
keeps), dedupe and similar (the decision new / updated / duplicate), schedule, render/ (posts,
Atom, JSON Feed), opml, text. They import only each other, config, models and errors; every
other layer may import them.
"""
