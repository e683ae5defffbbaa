-- The latest schema; a fresh database starts here (PRAGMA user_version = SCHEMA_VERSION).
-- Older databases are upgraded by the numbered steps in migrations.py.
-- Times are UTC ISO 8601 text ('2021-05-26T01:32:46+00:00'): sortable as text.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,          -- the feed's identity (renaming is a new feed)
    config_url TEXT NOT NULL,           -- as configured
    url TEXT NOT NULL,                  -- what we fetch: config_url, or where it moved (301/308)
    categories TEXT NOT NULL DEFAULT '[]',
    author TEXT NOT NULL,               -- post author: the feed's author key, else its name
    in_config INTEGER NOT NULL DEFAULT 1,
    enabled INTEGER NOT NULL DEFAULT 1, -- from config (enabled = false)
    disabled_reason TEXT,               -- gone (410), failures, user; NULL = active
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,                     -- identical bytes are not modified; NULL: never read (the
                                        -- backlog applies), '': read afresh next time
    last_fetch_at TEXT,
    last_status TEXT,                   -- ok, not_modified, failed, deferred
    last_http_status INTEGER,
    last_error TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    next_check_at TEXT,                 -- NULL = due now
    check_interval REAL,                -- seconds, before jitter
    schedule_reason TEXT,               -- fixed, adaptive, publisher hint, backoff, retry-after
    entry_gap REAL,                     -- typical seconds between entries (adaptive schedule)
    document_hint REAL,                 -- seconds asked by <ttl> / sy:update*
    lease_until TEXT,                   -- a worker holds the feed until then
    lease_owner TEXT,                   -- which worker (store instance): only it releases
    rules_hash TEXT NOT NULL DEFAULT '',  -- include/exclude rules the stored body was read with
    filtered INTEGER NOT NULL DEFAULT 0,  -- entries the rules turned away in the last document
    -- (No comma in the comments of the last columns: SQLite's DROP COLUMN would take it for
    -- the one that ends the column before.)
    url_via TEXT,                       -- how url left config_url (redirect or page) or NULL
    dedupe INTEGER NOT NULL DEFAULT 1,  -- from config: 0 = never merged with another feed
    duplicates INTEGER NOT NULL DEFAULT 0,  -- entries merged into another feed's article
    read_entries TEXT                   -- JSON pairs (entry digest and key) the last document was
                                        -- read into: not normalized again
);

CREATE TABLE articles (
    id TEXT PRIMARY KEY,                -- UUID5 of (feed name, entry key)
    feed_id INTEGER NOT NULL REFERENCES feeds (id),
    canonical_url TEXT,
    fingerprint TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rendered_hash TEXT,                 -- content_hash when the post was last written
    link TEXT,
    title TEXT NOT NULL,
    author TEXT,
    content TEXT NOT NULL,
    image TEXT,
    published TEXT,                     -- as claimed; NULL when missing or absurd
    updated TEXT,
    first_seen TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    post_path TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL DEFAULT 0,  -- counts changes of content: a post rendered before
                                        -- one is not marked rendered after it
    seq INTEGER                         -- insertion order, the number near_keys uses (a rowid
                                        -- may change on VACUUM): max + 1 on insert
);
CREATE UNIQUE INDEX articles_seq ON articles (seq);
-- canonical_url is a per-article link only (NULL when the link identifies nothing).
CREATE INDEX articles_canonical_url ON articles (canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX articles_fingerprint ON articles (fingerprint);
CREATE INDEX articles_sort ON articles (coalesce(published, first_seen));
CREATE INDEX articles_feed ON articles (feed_id);
-- Posts to (re)write: queries must repeat this WHERE term exactly to use the index.
CREATE INDEX articles_pending ON articles (id) WHERE rendered_hash IS NOT content_hash;

-- Every entry key a feed has shown, and the article it maps to (its own, or a duplicate's
-- original). Keys outlive their articles' retention so that old entries never return as new.
CREATE TABLE entries (
    feed_id INTEGER NOT NULL REFERENCES feeds (id),
    entry_key TEXT NOT NULL,
    article_id TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (feed_id, entry_key)
) WITHOUT ROWID;

-- Near-duplicates: the LSH band keys of each article's texts (steps/similar.py), its own and
-- its merged copies'; article is articles.seq. A key shared by very many articles
-- (boilerplate) stops taking more (Store.save).
CREATE TABLE near_keys (
    key INTEGER NOT NULL,
    article INTEGER NOT NULL,
    PRIMARY KEY (key, article)
) WITHOUT ROWID;
CREATE INDEX near_keys_article ON near_keys (article);

-- One story stored as two articles (a teaser, then an edited copy whose cut fell in it), shown
-- to be one by a copy of both: article_id joins into_id when the publisher has removed its
-- post (Store.join_articles).
CREATE TABLE story_joins (
    article_id TEXT PRIMARY KEY,
    into_id TEXT NOT NULL,
    gives_text INTEGER NOT NULL         -- into_id takes this article's content
);

-- full_text pages still to fetch (past a pass's page cap, or after a transient failure).
CREATE TABLE page_queue (
    article_id TEXT PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds (id),
    url TEXT NOT NULL,
    media_image TEXT,                   -- the feed's own image (a page's og:image yields to it)
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL
);
CREATE INDEX page_queue_feed ON page_queue (feed_id, queued_at);

CREATE TABLE fetch_log (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds (id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX fetch_log_feed ON fetch_log (feed_id, at);
