"""Pure readers that turn a list page or a JSON API response into a ParsedFeed.

For feeds with ``source = "html"`` or ``"json"`` (issue 19). Nothing here does I/O: the
pipeline fetches the page (and the next ones, up to `pages`) and hands over the bytes, the URL
that answered and ``now``. The ``[feeds.select]`` language (SourceSelect, dotted paths) is
parsed and checked with the config (config/select.py, config/paths.py); it is evaluated here.

    dates.py      the dates list pages show (3小时前, 昨天 10:20, 05月26日) -> UTC
    embedded.py   JSON / JS object literals embedded in a page, found by a bounded scan
    items.py      field values -> ParsedEntry; SourcePage
    html.py       read_html_source: CSS selectors, or `script` data
    jsonapi.py    read_json_source: dotted paths
    autodetect.py a list page without selectors: JSON-LD, page state, else blocks.py
    blocks.py     a list page's repeated blocks of headline links
"""

from ...config.select import MAX_PAGES, SelectError, SourceSelect, parse_select
from .dates import parse_item_date
from .embedded import embedded_data
from .html import read_html_source
from .items import MAX_ITEMS, SourcePage
from .jsonapi import read_json_source

__all__ = [
    "MAX_ITEMS",
    "MAX_PAGES",
    "SelectError",
    "SourcePage",
    "SourceSelect",
    "embedded_data",
    "parse_item_date",
    "parse_select",
    "read_html_source",
    "read_json_source",
]
