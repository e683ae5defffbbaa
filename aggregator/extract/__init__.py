"""Pure HTML work: sanitizing, text, images (article-page extraction comes with full text)."""

from .html import first_image, visible_text
from .sanitize import sanitize_html

__all__ = ["first_image", "sanitize_html", "visible_text"]
