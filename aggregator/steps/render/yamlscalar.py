"""YAML scalars for front matter: single-quoted, or plain where plain YAML reads them back
unchanged (the seed writes ``author: ZAKER`` plain). Conservative: when in doubt, quote."""

from __future__ import annotations

import re

# Plain scalars that a YAML 1.1 or 1.2 loader would turn into something other than this string.
_IMPLICIT = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
        [-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|
        [-+]?[0-9_.,:]+(?:[eE][-+]?[0-9]+)?|
        [-+]?0[xob][0-9a-fA-F_]+|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|
        <<|=
    )$""",
    re.VERBOSE,
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def plain_or_quoted(text: str) -> str:
    return text if _plain_is_safe(text) else quoted(text)


def _plain_is_safe(text: str) -> bool:
    if not text or text != text.strip() or text[0] in _INDICATORS:
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text:
        return False
    if not all(c.isprintable() for c in text):
        return False
    return not _IMPLICIT.match(text)
