-- The latest PostgreSQL schema; a fresh database starts here (meta 'schema_version' =
-- pg_migrations.SCHEMA_VERSION). Older databases are upgraded by the numbered steps in
-- pg_migrations.py, through `aggregator migrate`. The same tables as schema.sql (SQLite), with
-- native types: timestamptz, boolean, identity keys. Keys compared or ordered as text use
-- COLLATE "C" so that order and paging match SQLite's byte order on any server locale.

CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE feeds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,  -- the feed's identity (renaming is a new feed)
    config_url TEXT NOT NULL,           -- as configured
    url TEXT NOT NULL,                  -- what we fetch: config_url, or where it moved (301/308)
    categories TEXT NOT NULL DEFAULT '[]',  -- a JSON array, as in SQLite
    author TEXT NOT NULL,               -- post author: the feed's author key, else its name
    in_config BOOLEAN NOT NULL DEFAULT TRUE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,  -- from config (enabled = false)
    disabled_reason TEXT,               -- gone (410), failures, user; NULL = active
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,                     -- NULL: never read (the backlog applies); '': read afresh
    last_fetch_at TIMESTAMPTZ,
    last_status TEXT,                   -- ok, not_modified, failed, deferred
    last_http_status INTEGER,
    last_error TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    next_check_at TIMESTAMPTZ,          -- NULL = due now
    check_interval DOUBLE PRECISION,    -- seconds, before jitter
    schedule_reason TEXT,
    entry_gap DOUBLE PRECISION,
    document_hint DOUBLE PRECISION,
    lease_until TIMESTAMPTZ,            -- a worker holds the feed until then
    lease_owner TEXT,                   -- which worker (store instance): only it releases
    rules_hash TEXT NOT NULL DEFAULT '',
    filtered INTEGER NOT NULL DEFAULT 0,
    url_via TEXT,                       -- how url left config_url: redirect, page; NULL = as is
    dedupe BOOLEAN NOT NULL DEFAULT TRUE,  -- from config: false, never merged with another feed
    duplicates INTEGER NOT NULL DEFAULT 0,  -- entries merged into another feed's article
    read_entries TEXT                   -- JSON pairs (entry digest, key) the last document was read
                                        -- into: not normalized again
);
-- Due feeds, oldest first (claim_due); the partial predicate is repeated there.
CREATE INDEX feeds_due ON feeds (next_check_at NULLS FIRST, id)
    WHERE in_config AND enabled AND disabled_reason IS NULL;
CREATE INDEX feeds_leased ON feeds (lease_until) WHERE lease_until IS NOT NULL;

CREATE TABLE articles (
    id TEXT COLLATE "C" PRIMARY KEY,    -- UUID5 of (feed name, entry key)
    seq BIGINT GENERATED ALWAYS AS IDENTITY,  -- insertion order (SQLite's rowid)
    feed_id BIGINT NOT NULL REFERENCES feeds (id),
    canonical_url TEXT COLLATE "C",
    fingerprint TEXT COLLATE "C" NOT NULL,
    content_hash TEXT NOT NULL,
    rendered_hash TEXT,                 -- content_hash when the post was last written
    link TEXT,
    title TEXT NOT NULL,
    author TEXT,
    content TEXT NOT NULL,
    image TEXT,
    published TIMESTAMPTZ,              -- as claimed; NULL when missing or absurd
    updated TIMESTAMPTZ,
    first_seen TIMESTAMPTZ NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    post_path TEXT COLLATE "C" NOT NULL UNIQUE,
    revision INTEGER NOT NULL DEFAULT 0  -- counts changes of content (mark_rendered)
);
-- canonical_url is a per-article link only (NULL when the link identifies nothing).
CREATE INDEX articles_canonical_url ON articles (canonical_url) WHERE canonical_url IS NOT NULL;
CREATE INDEX articles_fingerprint ON articles (fingerprint);
CREATE UNIQUE INDEX articles_seq ON articles (seq);  -- the number near_keys uses
CREATE INDEX articles_sort ON articles ((coalesce(published, first_seen)));
CREATE INDEX articles_feed ON articles (feed_id);
-- Posts to (re)write: queries must repeat this WHERE term exactly to use the index.
CREATE INDEX articles_pending ON articles (id) WHERE rendered_hash IS DISTINCT FROM content_hash;

-- Every entry key a feed has shown, and the article it maps to (its own, or a duplicate's
-- original). Keys outlive their articles' retention so that old entries never return as new.
CREATE TABLE entries (
    feed_id BIGINT NOT NULL REFERENCES feeds (id),
    entry_key TEXT COLLATE "C" NOT NULL,
    article_id TEXT COLLATE "C" NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (feed_id, entry_key)
);
CREATE INDEX entries_article ON entries (article_id);

-- Near-duplicates: the LSH band keys of each article's texts (steps/similar.py), its own and
-- its merged copies'; article is articles.seq. A key shared by very many articles
-- (boilerplate) stops taking more (Store.save).
CREATE TABLE near_keys (
    key BIGINT NOT NULL,
    article BIGINT NOT NULL,
    PRIMARY KEY (key, article)
);
CREATE INDEX near_keys_article ON near_keys (article);

-- One story stored as two articles, joined by the publisher (schema.sql).
CREATE TABLE story_joins (
    article_id TEXT COLLATE "C" PRIMARY KEY,
    into_id TEXT COLLATE "C" NOT NULL,
    gives_text BOOLEAN NOT NULL         -- into_id takes this article's content
);

-- full_text pages still to fetch (past a pass's page cap, or after a transient failure).
CREATE TABLE page_queue (
    article_id TEXT COLLATE "C" PRIMARY KEY,
    feed_id BIGINT NOT NULL REFERENCES feeds (id),
    url TEXT NOT NULL,
    media_image TEXT,                   -- the feed's own image (a page's og:image yields to it)
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX page_queue_feed ON page_queue (feed_id, queued_at);

CREATE TABLE fetch_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id BIGINT NOT NULL REFERENCES feeds (id),
    at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX fetch_log_feed ON fetch_log (feed_id, at);
CREATE INDEX fetch_log_at ON fetch_log (at);
