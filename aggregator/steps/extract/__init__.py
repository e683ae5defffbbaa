"""Pure HTML work with selectolax and nh3: visible text, absolute URLs and <base> (html.py),
sanitizing (sanitize.py), images (images.py), article bodies of full-text pages (page.py with
readability-lxml and trafilatura in article.py), and the guard against markup shaped to make
parsers quadratic (shape.py)."""

from .html import visible_text
from .images import choose_image, first_image, page_image
from .sanitize import sanitize_html

__all__ = ["choose_image", "first_image", "page_image", "sanitize_html", "visible_text"]
