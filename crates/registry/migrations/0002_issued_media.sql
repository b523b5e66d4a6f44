-- The issued-media ledger: one row per node medium handed out (a configuration file
-- or a boot image carrying a node key) and per download link, so an image found in the field
-- can be told current, superseded or unknown.

-- Incremented with every key renewal: the generation a medium's key belongs to.
ALTER TABLE nodes ADD COLUMN key_generation BIGINT NOT NULL DEFAULT 0;

CREATE TABLE issued_media (
    issued_medium_id {{ID}},
    node_id BIGINT NOT NULL REFERENCES nodes (node_id),
    action TEXT NOT NULL,
    -- How the medium was made, enough to make the same bytes again for a download.
    image_type TEXT NOT NULL,
    console TEXT NOT NULL,
    kargs TEXT NOT NULL,
    variant TEXT,
    reference_family TEXT,
    reference_version TEXT,
    -- NULL for generic media, which carry no key.
    key_generation BIGINT,
    -- The key the medium carries: superseded keys no longer authenticate, but `verify` still
    -- recognises them.
    node_key TEXT,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    person_id BIGINT,
    issued BIGINT NOT NULL,
    superseded_by BIGINT REFERENCES issued_media (issued_medium_id),
    -- Where a file result was written.
    filename TEXT,
    -- Downloads only: the capability in the URL, when it expires, and the node's plnode.txt as
    -- it was issued (the download serves exactly these bytes).
    download_id TEXT,
    download_expires BIGINT,
    node_config TEXT
);
CREATE INDEX issued_media_node ON issued_media (node_id);
CREATE UNIQUE INDEX issued_media_download ON issued_media (download_id) WHERE download_id IS NOT NULL;

CREATE TABLE issued_medium_option (
    issued_medium_id BIGINT NOT NULL REFERENCES issued_media (issued_medium_id),
    position BIGINT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (issued_medium_id, position)
);
