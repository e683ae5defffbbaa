"""The store's SQL, written once for both backends, in PostgreSQL's form: numbered parameters
(``$1``) and ``= ANY($n)`` for a list. The SQLite adapter rewrites both (sqlite.py). Times are
passed as datetimes and lists as lists: each adapter converts them to what it stores.

What the dialects cannot share is in ``Dialect`` (``SQLITE``, ``POSTGRES``) at the end. Schema,
migrations and each backend's own locks stay with the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- the columns the row mappers (rows.py) read, in their order -----------------------------

FEED_COLUMNS = """
    f.id, f.name, f.url, f.etag, f.last_modified, f.body_hash, f.error_count, f.last_fetch_at,
    f.last_status, f.last_error, f.next_check_at, f.enabled, f.in_config, f.disabled_reason,
    f.check_interval, f.schedule_reason, f.entry_gap, f.document_hint, f.rules_hash, f.filtered,
    f.config_url, f.url_via, f.dedupe, f.duplicates
"""

# "updated" is the newest of the article's own dates and of a change seen after its first
# sighting (a content change, a fetched full-text page).
ARTICLE_COLUMNS = """
    a.id, f.name, f.url, a.link, a.title, a.author, a.content, a.image,
    coalesce(a.published, a.first_seen),
    CASE WHEN a.changed_at > a.first_seen
          AND a.changed_at > coalesce(a.updated, a.published, a.first_seen)
         THEN a.changed_at ELSE coalesce(a.updated, a.published, a.first_seen) END,
    a.post_path, f.categories, f.author, a.content_hash, a.revision
"""

# -- feeds and their schedule ---------------------------------------------------------------

UNLIST_FEEDS = "UPDATE feeds SET in_config = FALSE WHERE in_config AND NOT name = ANY($1)"

# A row that already matches the config is left unwritten: many workers starting with one
# config do not rewrite every feed row. A changed URL forgets what was learned from the old.
UPSERT_FEED = """
    INSERT INTO feeds AS f (name, config_url, url, categories, author, enabled, dedupe)
    VALUES ($1, $2, $2, $3, $4, $5, $6)
    ON CONFLICT (name) DO UPDATE SET
        url = CASE WHEN f.config_url = excluded.config_url THEN f.url ELSE excluded.url END,
        etag = CASE WHEN f.config_url = excluded.config_url THEN f.etag END,
        last_modified = CASE WHEN f.config_url = excluded.config_url THEN f.last_modified END,
        url_via = CASE WHEN f.config_url = excluded.config_url THEN f.url_via END,
        body_hash = CASE WHEN f.config_url = excluded.config_url THEN f.body_hash END,
        read_entries = CASE WHEN f.config_url = excluded.config_url THEN f.read_entries END,
        config_url = excluded.config_url,
        categories = excluded.categories,
        author = excluded.author,
        enabled = excluded.enabled,
        dedupe = excluded.dedupe,
        in_config = TRUE
    WHERE (f.config_url, f.categories, f.author, f.enabled, f.dedupe, f.in_config)
          IS DISTINCT FROM
          (excluded.config_url, excluded.categories, excluded.author, excluded.enabled,
           excluded.dedupe, TRUE)
"""

FEED_STATES = f"""
    SELECT {FEED_COLUMNS},
           (SELECT count(*) FROM articles a WHERE a.feed_id = f.id),
           (SELECT count(*) FROM page_queue q WHERE q.feed_id = f.id)
    FROM feeds f ORDER BY f.name
"""

# The partial index feeds_due (PostgreSQL) repeats this predicate.
DUE = "f.in_config AND f.enabled AND f.disabled_reason IS NULL"

LEASED_URLS = "SELECT url FROM feeds WHERE lease_until > $1"
LEASE = "UPDATE feeds SET lease_until = $1, lease_owner = $2 WHERE id = ANY($3)"
RELEASE = (
    "UPDATE feeds SET lease_until = NULL, lease_owner = NULL"
    " WHERE id = ANY($1) AND lease_owner = $2"
)

RELEASE_STALE = (
    "UPDATE feeds SET lease_until = NULL, lease_owner = NULL WHERE lease_until IS NOT NULL"
)

SCHEDULE = "UPDATE feeds SET next_check_at = $1 WHERE name = $2"
SCHEDULE_FIRST = SCHEDULE + " AND next_check_at IS NULL AND last_fetch_at IS NULL"

SET_DISABLED = """
    UPDATE feeds SET disabled_reason = $1, error_count = 0,
        next_check_at = CASE WHEN CAST($1 AS TEXT) IS NULL THEN NULL ELSE next_check_at END
    WHERE name = $2
"""

FEED_ID = "SELECT id FROM feeds WHERE name = $1"
FEED_ARTICLES = """
    SELECT a.id, a.post_path FROM articles a JOIN feeds f ON f.id = a.feed_id
    WHERE f.name = $1 ORDER BY a.id
"""

_OWNED = "SELECT id FROM articles WHERE feed_id = $1"
# Forgetting feed $1, in this order. Feeds that also saw its articles are read afresh:
# body_hash '' (not NULL, which means never read: the first fetch's backlog would apply) and
# every entry normalized again; their entries merged into its articles are forgotten, and no
# longer counted.
FORGET_FEED = (
    "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = '', read_entries = NULL,"
    " duplicates = duplicates - (SELECT count(*) FROM entries e"
    f" WHERE e.feed_id = feeds.id AND e.article_id IN ({_OWNED}))"
    f" WHERE id IN (SELECT feed_id FROM entries WHERE article_id IN ({_OWNED})) AND id != $1",
    f"DELETE FROM entries WHERE article_id IN ({_OWNED}) OR feed_id = $1",
    "DELETE FROM page_queue WHERE feed_id = $1",
    "DELETE FROM near_keys WHERE article IN (SELECT seq FROM articles WHERE feed_id = $1)",
    "DELETE FROM articles WHERE feed_id = $1",
    "DELETE FROM fetch_log WHERE feed_id = $1",
    "DELETE FROM feeds WHERE id = $1",
)

# -- one feed's results -----------------------------------------------------------------------

KNOWN_KEYS = """
    SELECT e.entry_key, e.article_id, coalesce(f.name, ''), coalesce(a.content_hash, ''),
           a.canonical_url, coalesce(a.fingerprint, ''), coalesce(a.title, '')
    FROM entries e
    LEFT JOIN articles a ON a.id = e.article_id
    LEFT JOIN feeds f ON f.id = a.feed_id
    WHERE e.feed_id = $1 AND e.entry_key = ANY($2)
"""

TAKEN_POST_NAMES = "SELECT post_path FROM articles WHERE post_path = ANY($1)"


UPDATE_ARTICLE = """
    UPDATE articles SET canonical_url = $1, fingerprint = $2, content_hash = $3, link = $4,
        title = $5, author = $6, content = $7, image = $8, published = $9, updated = $10,
        changed_at = $11, revision = revision + 1
    WHERE id = $12
"""

INSERT_ENTRY = """
    INSERT INTO entries (feed_id, entry_key, article_id, first_seen) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING
"""

QUEUE_PAGE = """
    INSERT INTO page_queue (article_id, feed_id, url, media_image, attempts, queued_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (article_id) DO UPDATE SET url = excluded.url,
        media_image = excluded.media_image, attempts = excluded.attempts
"""

# $3 keep_validators, $11 failed; a lease is let go only by the worker holding it ($20).
UPDATE_FEED = """
    UPDATE feeds SET
        url = coalesce($2, url),
        url_via = CASE WHEN CAST($2 AS TEXT) IS NULL THEN url_via ELSE $21 END,
        etag = CASE WHEN $3 THEN etag ELSE $4 END,
        last_modified = CASE WHEN $3 THEN last_modified ELSE $5 END,
        body_hash = CASE WHEN $3 THEN body_hash ELSE $6 END,
        last_fetch_at = $7, last_status = $8, last_http_status = $9, last_error = $10,
        error_count = CASE WHEN $11 THEN error_count + 1 ELSE 0 END,
        next_check_at = $12, check_interval = $13, schedule_reason = $14,
        entry_gap = coalesce($15, entry_gap),
        document_hint = coalesce($16, document_hint),
        rules_hash = coalesce($17, rules_hash),
        filtered = coalesce($18, filtered),
        disabled_reason = coalesce($19, disabled_reason),
        lease_until = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_until END,
        lease_owner = CASE WHEN lease_owner = $20 THEN NULL ELSE lease_owner END,
        duplicates = duplicates + $22,
        read_entries = coalesce($23, read_entries)
    WHERE id = $1
"""

READ_ENTRIES = "SELECT read_entries FROM feeds WHERE id = $1"

# -- near-duplicates (Store.save) ---------------------------------------------------------------

# Stored articles holding one of the band keys $1 (each key is held by at most
# MAX_ARTICLES_PER_KEY): (key, article id, whether feed $2 may merge with it: another feed,
# both with dedupe, its feed, its seq), oldest first.
NEAR_HOLDERS = """
    SELECT k.key, a.id,
           a.feed_id != $2 AND f.dedupe AND (SELECT d.dedupe FROM feeds d WHERE d.id = $2),
           a.feed_id, a.seq
    FROM near_keys k
    JOIN articles a ON a.seq = k.article
    JOIN feeds f ON f.id = a.feed_id
    WHERE k.key = ANY($1)
    ORDER BY k.article
"""
NEAR_TEXTS = "SELECT id, content FROM articles WHERE id = ANY($1)"
# A copy fuller than the stored text (a teaser): the article takes it; its post is rewritten.
TAKE_FULLER = """
    UPDATE articles SET content = $1, image = coalesce(image, $2), rendered_hash = NULL,
        changed_at = $3, revision = revision + 1
    WHERE id = $4
"""
# Entries of a feed that map to another feed's article (migrations; kept since in the feed's
# row: UPDATE_FEED, FORGET_FEED, MORE_DUPLICATES).
COUNT_DUPLICATES = """
    UPDATE feeds SET duplicates = (
        SELECT count(*) FROM entries e JOIN articles a ON a.id = e.article_id
        WHERE e.feed_id = feeds.id AND a.feed_id != feeds.id)
"""

# -- joins: one story stored as two articles (Decision.absorbs), joined by the publisher ------

# Stored article $1 is the story of article $2 (save); joined by Store.join_articles.
QUEUE_JOIN = """
    INSERT INTO story_joins (article_id, into_id, gives_text) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING
"""
# (Both still stored: a join into an article gone is not listed, and its post not removed.)
PENDING_JOINS = """
    SELECT j.article_id, j.into_id, a.post_path, j.gives_text FROM story_joins j
    JOIN articles a ON a.id = j.article_id
    JOIN articles x ON x.id = j.into_id
    ORDER BY j.article_id
"""
# The articles of a join still stored: (id, feed, whether the feed allows merging).
JOINING = """
    SELECT a.id, a.feed_id, f.dedupe FROM articles a JOIN feeds f ON f.id = a.feed_id
    WHERE a.id = ANY($1)
"""
# (SQLite has no index on entries.article_id, which only joins and forgetting a feed ask by:
# one scan per join, then each entry by its key.)
ENTRIES_OF = "SELECT feed_id, entry_key, article_id FROM entries WHERE article_id = ANY($1)"
# Article $2 takes the content of article $1 (the fuller text of their story); its post is
# written again.
GIVE_TEXT = """
    UPDATE articles SET content = (SELECT y.content FROM articles y WHERE y.id = $1),
        image = coalesce(image, (SELECT y.image FROM articles y WHERE y.id = $1)),
        rendered_hash = NULL, changed_at = $3, revision = revision + 1
    WHERE id = $2
"""
MOVE_ENTRY = "UPDATE entries SET article_id = $1 WHERE feed_id = $2 AND entry_key = $3"
# Article $1 joins article $2: its band keys move to it, then it goes.
MOVE_NEAR_KEYS = """
    INSERT INTO near_keys (key, article)
    SELECT k.key, x.seq FROM near_keys k, articles y, articles x
    WHERE y.id = $1 AND x.id = $2 AND k.article = y.seq
    ON CONFLICT DO NOTHING
"""
# The article row before its page queue row, as finish_pages takes them (PostgreSQL's row
# locks: no deadlock with a worker storing that page).
JOINED_ARTICLE = (
    "DELETE FROM near_keys WHERE article = (SELECT seq FROM articles WHERE id = $1)",
    "DELETE FROM articles WHERE id = $1",
    "DELETE FROM page_queue WHERE article_id = $1",
)
MORE_DUPLICATES = "UPDATE feeds SET duplicates = duplicates + $1 WHERE id = $2"
REDIRECT_JOINS = "UPDATE story_joins SET into_id = $2 WHERE into_id = $1"
# Done, or no longer possible (either article gone).
UNQUEUE_JOINS = """
    DELETE FROM story_joins
    WHERE article_id = ANY($1) OR article_id = into_id
       OR NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = story_joins.article_id)
       OR NOT EXISTS (SELECT 1 FROM articles x WHERE x.id = story_joins.into_id)
"""

LOG_FETCH = """
    INSERT INTO fetch_log (feed_id, at, status, http_status, error, new, updated, duplicate,
        filtered)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

# -- the full-text page queue -----------------------------------------------------------------

QUEUED_PAGES = """
    SELECT article_id, url, media_image, attempts FROM page_queue
    WHERE feed_id = $1 AND queued_at < $2 ORDER BY queued_at, article_id LIMIT $3
"""
PAGE_CONTENT = """
    UPDATE articles SET content = $1, image = coalesce($2, image), rendered_hash = NULL,
        changed_at = $3, revision = revision + 1
    WHERE id = $4
"""
PAGE_RETRIED = "UPDATE page_queue SET attempts = attempts + 1 WHERE article_id = $1"
# $2: the page is to be retried, $3: MAX_PAGE_ATTEMPTS.
PAGE_DONE = "DELETE FROM page_queue WHERE article_id = $1 AND (NOT $2 OR attempts >= $3)"

# -- retention ----------------------------------------------------------------------------------

EXPIRED_ARTICLES = "SELECT id, post_path FROM articles WHERE coalesce(published, first_seen) < $1"
UNQUEUE_PAGES = "DELETE FROM page_queue WHERE article_id = ANY($1)"
UNINDEX_ARTICLES = (
    "DELETE FROM near_keys WHERE article IN (SELECT seq FROM articles WHERE id = ANY($1))"
)
DELETE_ARTICLES = "DELETE FROM articles WHERE id = ANY($1)"
TRIM_LOG = "DELETE FROM fetch_log WHERE at < $1"

# -- rendering ----------------------------------------------------------------------------------

# The partial index articles_pending repeats this WHERE term (exactly: or it is not used).
PENDING_POSTS = f"""
    SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id
    WHERE a.rendered_hash IS DISTINCT FROM a.content_hash
    ORDER BY a.id
    LIMIT $1
"""
# Only when the content is still the one rendered: a change since (a new content hash, or a
# fetched page or a fuller copy, which keep it: revision) stays pending.
MARK_RENDERED = (
    "UPDATE articles SET rendered_hash = content_hash"
    " WHERE id = $1 AND content_hash = $2 AND revision = $3"
)
MARK_ALL_UNRENDERED = "UPDATE articles SET rendered_hash = NULL"
MARK_UNRENDERED = MARK_ALL_UNRENDERED + " WHERE id = ANY($1)"
# By post_path: its unique index alone answers (by id, every row was read from the table).
POST_PATHS = "SELECT post_path FROM articles WHERE post_path > $1 ORDER BY post_path LIMIT $2"
ARTICLES_OF_POSTS = "SELECT id FROM articles WHERE post_path = ANY($1)"
NEWEST = f"""
    SELECT {ARTICLE_COLUMNS} FROM articles a JOIN feeds f ON f.id = a.feed_id
    ORDER BY coalesce(a.published, a.first_seen) DESC, a.id
    LIMIT $1
"""
KEEP_ATOM_ID = "INSERT INTO meta (key, value) VALUES ('atom_id', $1) ON CONFLICT DO NOTHING"
ATOM_ID = "SELECT value FROM meta WHERE key = 'atom_id'"

# -- what the dialects cannot share -------------------------------------------------------------

_DUE_FEEDS = f"""
    SELECT {FEED_COLUMNS} FROM feeds f
    WHERE {DUE}
      AND (f.next_check_at IS NULL OR f.next_check_at <= $1)
      AND (f.lease_until IS NULL OR f.lease_until <= $1)
    ORDER BY f.next_check_at NULLS FIRST, f.id
    LIMIT $2
"""

# Feed $2's own articles, and other feeds' when both may be merged (dedupe).
_MATCHES = """
    SELECT a.{column}, a.id, f.name, a.content_hash, a.canonical_url, a.fingerprint, a.title
    FROM articles a JOIN feeds f ON f.id = a.feed_id
    WHERE a.{column} = ANY($1)
      AND (a.feed_id = $2 OR (f.dedupe AND (SELECT d.dedupe FROM feeds d WHERE d.id = $2)))
    ORDER BY a.first_seen, a.seq
"""

_INSERT_ARTICLE = """
    INSERT INTO articles (id, feed_id, canonical_url, fingerprint, content_hash, link, title,
        author, content, image, published, updated, first_seen, changed_at, post_path{seq})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15{next_seq})
    ON CONFLICT (id) DO NOTHING
"""


@dataclass(frozen=True)
class Dialect:
    """The statements written differently per backend."""

    due_feeds: str  # $1 now, $2 how many candidates
    # stored articles with one of the canonical URLs $1 that feed $2 may match, oldest first
    matches_by_url: str
    matches_by_fingerprint: str
    insert_article: str  # articles.seq: PostgreSQL's identity, SQLite's max + 1
    # Band keys (key, article id; the row holds the article's number): SQLite one pair per
    # execution (executemany: faster there than any list form), PostgreSQL all at once from
    # two arrays ($1 keys, $2 article ids).
    insert_near_keys: str
    near_keys_as_arrays: bool


def _dialect(next_seq: str, lock_due: str, near_keys_from: str | None) -> Dialect:
    return Dialect(
        due_feeds=_DUE_FEEDS + lock_due,
        matches_by_url=_MATCHES.format(column="canonical_url"),
        matches_by_fingerprint=_MATCHES.format(column="fingerprint"),
        insert_article=_INSERT_ARTICLE.format(
            seq=", seq" if next_seq else "", next_seq=f", {next_seq}" if next_seq else ""
        ),
        insert_near_keys=(
            "INSERT INTO near_keys (key, article) "
            + (near_keys_from or "SELECT $1, seq FROM articles WHERE id = $2")
            + " ON CONFLICT DO NOTHING"
        ),
        near_keys_as_arrays=near_keys_from is not None,
    )


# One writer at a time: the next number is the largest so far plus one (an index lookup).
SQLITE = _dialect(
    next_seq="(SELECT coalesce(max(seq), 0) + 1 FROM articles)",
    lock_due="",
    near_keys_from=None,
)
# The rows a claim takes stay locked until it commits; rows a save or a sync holds are
# skipped, not waited for.
POSTGRES = _dialect(
    next_seq="",
    lock_due="FOR UPDATE SKIP LOCKED",
    near_keys_from="SELECT p.key, a.seq FROM unnest($1::bigint[], $2::text[]) AS p(key, id)"
    " JOIN articles a ON a.id = p.id",
)
