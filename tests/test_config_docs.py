"""The key declarations (aggregator/configkeys.py) are the one place a key lives: docs/config.md
lists every key with its default as they declare it, a documented default means what leaving the
key out means, and the keys declared secret are the ones logs mask."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from config_docs import DOCS, TABLES, with_current_tables
from server import toml_value

from aggregator.config import Config, FeedConfig, load_config, secret_values
from aggregator.configcheck import REQUIRED, declared
from aggregator.configkeys import SECTIONS
from aggregator.sources.select import KEYS as SELECT_KEYS


def test_docs_list_every_key_with_its_default() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_current_tables(text) == text, (
        "docs/config.md's key tables differ from aggregator/configkeys.py: "
        "run `python tests/config_docs.py`"
    )


def test_a_key_without_its_docs_line_is_caught() -> None:
    text = DOCS.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `min_tokens` |"))
    without_row = text.replace(row + "\n", "")
    assert with_current_tables(without_row) != without_row
    without_table = re.sub(r"<!-- keys dedupe -->.*?<!-- /keys -->", "", text, flags=re.S)
    with pytest.raises(ValueError, match="no <!-- keys dedupe --> table"):
        with_current_tables(without_table)


def test_every_key_has_one_line_of_doc_that_fits_a_table_row() -> None:
    for section, record in TABLES.items():
        for name, key in declared(record).items():
            assert key.doc.strip(), f"{section}.{name}"
            assert not set(key.doc + key.shown_default) & {"|", "\n"}, f"{section}.{name}"


def _with_defaults(record: type) -> list[str]:
    """`key = default` for every key whose default config.toml can write."""
    return [
        f"{name} = {toml_value(key.default)}"
        for name, key in declared(record).items()
        if key.default is not None and key.default is not REQUIRED
    ]


def test_writing_every_default_out_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL", raising=False)
    feed = '[[feeds]]\nname = "A"\nurl = "https://a.example/feed.xml"\n'
    lines = []
    for section, record in SECTIONS.items():
        lines += [f"[{section}]", *_with_defaults(record), ""]
    written = tmp_path / "written.toml"
    written.write_text("\n".join([*lines, feed, *_with_defaults(FeedConfig)]), encoding="utf-8")
    bare = tmp_path / "bare.toml"
    bare.write_text(feed, encoding="utf-8")

    left_out, spelled_out = load_config(bare), load_config(written)

    assert spelled_out == Config(**{**_fields(left_out), "path": written})
    assert spelled_out.output.posts_dir == tmp_path.resolve() / "data" / "posts"


def _fields(config: Config) -> dict[str, object]:
    return {name: getattr(config, name) for name in Config.__dataclass_fields__}


def test_the_keys_declared_secret_are_the_ones_logs_mask(tmp_path: Path) -> None:
    secret = {
        f"{section}.{name}"
        for section, record in TABLES.items()
        for name, key in declared(record).items()
        if key.secret
    }
    assert secret == {"storage.database", "fetch.proxy", "feeds.headers"}
    config = load_config(_write(tmp_path, _SECRETS))
    assert list(secret_values(config)) == [
        "postgresql://agg:db-pw-1@127.0.0.1/agg",
        "http://u:proxy-pw-2@127.0.0.1:3128",
        (("X-Key", "key-3"),),
    ]


_SECRETS = """
[storage]
database = "postgresql://agg:db-pw-1@127.0.0.1/agg"
[fetch]
proxy = "http://u:proxy-pw-2@127.0.0.1:3128"
[[feeds]]
name = "A"
url = "https://a.example/"
headers = { X-Key = "key-3" }
[[feeds]]
name = "B"
url = "https://b.example/"
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_select_key_is_documented() -> None:
    """[feeds.select]'s keys belong to aggregator/sources/select.py; sources.md has a row for
    each, and config.md names each where it points there."""
    sources = (DOCS.parent / "sources.md").read_text(encoding="utf-8")
    config = DOCS.read_text(encoding="utf-8").partition("### [feeds.select]")[2]
    for key in SELECT_KEYS:
        assert f"\n| `{key}` |" in sources, key
        assert f"`{key}`" in config, key
