"""Pure renderings of stored articles: post files with the seed's front matter (post.py,
yamlscalar.py), Atom (atom.py), JSON Feed (jsonfeed.py), post file names (filename.py)."""

from .atom import render_atom
from .filename import post_filename
from .jsonfeed import render_json_feed
from .post import render_post

__all__ = ["post_filename", "render_atom", "render_json_feed", "render_post"]
