"""Pure: data embedded in a page, found without running JavaScript.

A page carries its data in an assignment inside a script (``window.WinPageData = {...};``,
``window.__NUXT__={...}``, ``window.__INITIAL_STATE__=JSON.parse("...")``) or in a <script>
element holding JSON (``script#__NEXT_DATA__``, ``script[type="application/ld+json"]``). The
literal is cut out by a bounded scan (balanced brackets outside strings and comments), then
read as data: JSON, else a JavaScript object literal (chompjs: unquoted keys, single quotes,
trailing commas). Nothing is evaluated; every failure is a ParseError naming the URL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import chompjs
from selectolax.lexbor import LexborHTMLParser

from ...config.select import is_js_target
from ...errors import ParseError
from ..extract.shape import too_complex

MAX_DATA = 16 * 1024 * 1024  # characters in one literal: the biggest Next.js pages hold ~5 MB
MAX_NESTING = 256  # levels of { and [: json and chompjs recurse per level
_MiB = 1024 * 1024
_GLOBALS = ("window", "self", "globalThis")
# What the bracket scan stops at: brackets, string quotes, comment openers.
_TOKEN = re.compile(r"[{}\[\]\"'`]|/[/*]")
_STRING_REST = {q: re.compile(rf"[^{q}\\]*+(?:\\.[^{q}\\]*+)*+{q}", re.DOTALL) for q in "\"'`"}
_JSON_PARSE = re.compile(r"JSON\s*\.\s*parse\s*\(\s*([\"'`])")
_JS_ESCAPE = re.compile(
    r"\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|u[0-9a-fA-F]{4}|\r\n|.)", re.DOTALL
)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SIMPLE_ESCAPES |= {
    "\n": "",
    "\r": "",
    "\r\n": "",
    "\u2028": "",
    "\u2029": "",
}  # line continuations
_SURROGATE = re.compile("[\ud800-\udfff]")


def embedded_data(html: str, script: str, url: str, tree: LexborHTMLParser | None = None) -> Any:
    """The data ``script`` names: a JavaScript name assigned in the page (``window.X``) or a
    CSS selector of a <script> element (looked up in ``tree`` when the caller parsed the page
    already). Raises ParseError."""
    if is_js_target(script):
        return assigned_data(html, script.strip(), url)
    return script_element_data(html, script, url, tree)


def assigned_data(html: str, target: str, url: str) -> Any:
    """The literal assigned to ``target`` (`window.X = {...}`, `var X = [...]`, or
    `X = JSON.parse("...")`); the first assignment of a literal wins."""
    for match in _assignment(target).finditer(html):
        start = match.end()
        if html.startswith(("{", "["), start):
            return parse_literal(html, start, url, f"`script` {target}")
        if quoted := _JSON_PARSE.match(html, start):
            text = _string_literal(html, quoted.start(1), url, f"`script` {target}")
            return parse_data(text, url, f"`script` {target}")
    raise ParseError(url, f"`script` {target}: no `{target} = {{...}}` in the page")


def script_element_data(
    html: str, selector: str, url: str, tree: LexborHTMLParser | None = None
) -> Any:
    """The data in the first <script> element ``selector`` matches (its first { or [ on)."""
    if tree is None:
        if too_complex(html):
            raise ParseError(url, "the page nests too deeply to be parsed")
        tree = LexborHTMLParser(html)
    node = tree.css_first(selector)
    if node is None:
        raise ParseError(url, f"`script` {selector}: no element matches")
    return parse_data(node.text(deep=True), url, f"`script` {selector}")


def parse_data(text: str, url: str, what: str) -> Any:
    """The JSON or JavaScript literal that starts at the first { or [ of ``text``. ``what``
    names the data in error messages (`` `script` window.X ``)."""
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise ParseError(url, f"{what}: no {{...}} or [...] data in it")
    return parse_literal(text, min(starts), url, what)


def parse_literal(text: str, start: int, url: str, what: str) -> Any:
    """The literal that opens at ``text[start]``: JSON, else a JavaScript object literal."""
    source = text[start : _literal_end(text, start, url, what)]
    try:
        return json.loads(source)
    except ValueError:
        pass  # not JSON: maybe a JavaScript literal
    except RecursionError:
        raise ParseError(url, f"{what}: the data nests too deeply") from None
    try:
        return chompjs.parse_js_object(source)
    # A C parser reading hostile text: whatever it raises means "not data".
    except Exception as e:
        raise ParseError(
            url, f"{what}: neither JSON nor a JavaScript object literal ({str(e)[:200]})"
        ) from None


def _assignment(target: str) -> re.Pattern[str]:
    parts = target.split(".")
    if len(parts) == 1:
        parts = ["window", *parts]  # a bare name: a global, however the page assigns it
    if parts[0] in _GLOBALS and len(parts) == 2:
        name = re.escape(parts[1])
        scope = "|".join(_GLOBALS)
        left = (
            rf"(?:(?:{scope})\s*\.\s*|(?:var|let|const)\s+)?{name}"
            rf"|(?:{scope})\s*\[\s*([\"']){name}\1\s*\]"
        )
    else:
        left = r"\s*\.\s*".join(map(re.escape, parts))
    # Not `a.X =`, `X ==` or `X => ...`.
    return re.compile(rf"(?<![\w$.])(?:{left})\s*=(?![=>])\s*")


def _literal_end(text: str, start: int, url: str, what: str) -> int:
    """Where the bracket opened at ``start`` closes. Strings and comments are skipped whole;
    brackets are counted, not matched (the parser judges the rest)."""
    limit = min(len(text), start + MAX_DATA)
    depth = 0
    position = start
    while token := _TOKEN.search(text, position, limit):
        kind = token.group()
        position = token.end()
        if kind in "{[":
            depth += 1
            if depth > MAX_NESTING:
                raise ParseError(url, f"{what}: nested deeper than {MAX_NESTING} levels")
        elif kind in "}]":
            depth -= 1
            if depth == 0:
                return position
        elif kind in _STRING_REST:
            rest = _STRING_REST[kind].match(text, position, limit)
            if rest is None:
                break
            position = rest.end()
        else:
            position = _comment_end(text, kind, position, limit)
    if limit < len(text):
        raise ParseError(url, f"{what}: the data is larger than {MAX_DATA // _MiB} MiB")
    raise ParseError(url, f"{what}: the data never ends (a bracket or quote left open)")


def _comment_end(text: str, opener: str, position: int, limit: int) -> int:
    closer = "\n" if opener == "//" else "*/"
    end = text.find(closer, position, limit)
    return limit if end < 0 else end + len(closer)


def _string_literal(text: str, quote_at: int, url: str, what: str) -> str:
    """The value of the JavaScript string literal opening at ``text[quote_at]``."""
    quote = text[quote_at]
    limit = min(len(text), quote_at + 1 + MAX_DATA)
    rest = _STRING_REST[quote].match(text, quote_at + 1, limit)
    if rest is None:
        raise ParseError(url, f"{what}: the JSON.parse string never ends")
    value = _JS_ESCAPE.sub(_unescape, text[quote_at + 1 : rest.end() - 1])
    if _SURROGATE.search(value):  # "\ud83d\ude00": a pair written as two escapes
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape[0] in "xu" and len(escape) > 1:
        code = int(escape.strip("xu{}"), 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"
    return _SIMPLE_ESCAPES.get(escape, escape)
