"""Pure HTML work: sanitizing, text, images (article-page extraction comes with full text)."""

from .html import visible_text
from .images import choose_image, first_image, page_image
from .sanitize import sanitize_html

__all__ = ["choose_image", "first_image", "page_image", "sanitize_html", "visible_text"]
