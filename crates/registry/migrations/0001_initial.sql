-- The PLC registry, version 1. One file serves SQLite and PostgreSQL: `{{ID}}` is replaced by the
-- backend's auto-increment primary key. Booleans are BIGINT 0/1 and timestamps are epoch seconds,
-- because sqlx's Any driver decodes neither SQLite BOOLEAN nor date/time types.

CREATE TABLE roles (
    role_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE node_types (node_type TEXT PRIMARY KEY);
CREATE TABLE boot_states (boot_state TEXT PRIMARY KEY);
CREATE TABLE network_methods (method TEXT PRIMARY KEY);
CREATE TABLE network_types (type TEXT PRIMARY KEY);

CREATE TABLE sites (
    site_id {{ID}},
    name TEXT NOT NULL,
    abbreviated_name TEXT NOT NULL,
    login_base TEXT NOT NULL,
    is_public BIGINT NOT NULL DEFAULT 1,
    enabled BIGINT NOT NULL DEFAULT 1,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    url TEXT,
    max_slices BIGINT NOT NULL DEFAULT 0,
    max_slivers BIGINT NOT NULL DEFAULT 1000,
    date_created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    peer_id BIGINT,
    peer_site_id BIGINT,
    ext_consortium_id BIGINT,
    deleted BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sites_login_base ON sites (login_base) WHERE deleted = 0;

CREATE TABLE persons (
    person_id {{ID}},
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    title TEXT,
    phone TEXT,
    url TEXT,
    bio TEXT,
    enabled BIGINT NOT NULL DEFAULT 0,
    password TEXT NOT NULL DEFAULT 'nopass',
    verification_key TEXT,
    verification_expires BIGINT,
    date_created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    peer_id BIGINT,
    peer_person_id BIGINT,
    deleted BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX persons_email ON persons (email) WHERE deleted = 0;

CREATE TABLE person_role (
    person_id BIGINT NOT NULL REFERENCES persons (person_id),
    role_id BIGINT NOT NULL REFERENCES roles (role_id),
    PRIMARY KEY (person_id, role_id)
);

CREATE TABLE person_site (
    person_id BIGINT NOT NULL REFERENCES persons (person_id),
    site_id BIGINT NOT NULL REFERENCES sites (site_id),
    is_primary BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, site_id)
);

CREATE TABLE tag_types (
    tag_type_id {{ID}},
    tagname TEXT NOT NULL UNIQUE,
    description TEXT,
    category TEXT NOT NULL DEFAULT 'general'
);

CREATE TABLE tag_type_role (
    tag_type_id BIGINT NOT NULL REFERENCES tag_types (tag_type_id),
    role_id BIGINT NOT NULL REFERENCES roles (role_id),
    PRIMARY KEY (tag_type_id, role_id)
);

CREATE TABLE nodes (
    node_id {{ID}},
    node_type TEXT NOT NULL DEFAULT 'regular' REFERENCES node_types (node_type),
    hostname TEXT NOT NULL,
    site_id BIGINT NOT NULL REFERENCES sites (site_id),
    boot_state TEXT NOT NULL DEFAULT 'reinstall' REFERENCES boot_states (boot_state),
    run_level TEXT,
    model TEXT,
    boot_nonce TEXT,
    version TEXT,
    ssh_rsa_key TEXT,
    node_key TEXT,
    verified BIGINT NOT NULL DEFAULT 0,
    date_created BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    last_contact BIGINT,
    last_boot BIGINT,
    last_download BIGINT,
    last_pcu_reboot BIGINT,
    last_pcu_confirmation BIGINT,
    last_time_spent_online BIGINT,
    last_time_spent_offline BIGINT,
    peer_id BIGINT,
    peer_node_id BIGINT,
    deleted BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX nodes_hostname ON nodes (hostname) WHERE deleted = 0;
CREATE INDEX nodes_site ON nodes (site_id);

CREATE TABLE interfaces (
    interface_id {{ID}},
    node_id BIGINT NOT NULL REFERENCES nodes (node_id),
    is_primary BIGINT NOT NULL DEFAULT 0,
    type TEXT NOT NULL REFERENCES network_types (type),
    method TEXT NOT NULL REFERENCES network_methods (method),
    ip TEXT,
    mac TEXT,
    gateway TEXT,
    network TEXT,
    broadcast TEXT,
    netmask TEXT,
    dns1 TEXT,
    dns2 TEXT,
    bwlimit BIGINT,
    hostname TEXT,
    last_updated BIGINT NOT NULL
);
CREATE INDEX interfaces_node ON interfaces (node_id);

CREATE TABLE interface_tag (
    interface_tag_id {{ID}},
    interface_id BIGINT NOT NULL REFERENCES interfaces (interface_id),
    tag_type_id BIGINT NOT NULL REFERENCES tag_types (tag_type_id),
    value TEXT NOT NULL,
    UNIQUE (interface_id, tag_type_id)
);

CREATE TABLE node_tag (
    node_tag_id {{ID}},
    node_id BIGINT NOT NULL REFERENCES nodes (node_id),
    tag_type_id BIGINT NOT NULL REFERENCES tag_types (tag_type_id),
    value TEXT NOT NULL,
    UNIQUE (node_id, tag_type_id)
);

CREATE TABLE nodegroups (
    nodegroup_id {{ID}},
    groupname TEXT NOT NULL UNIQUE,
    tag_type_id BIGINT NOT NULL REFERENCES tag_types (tag_type_id),
    value TEXT NOT NULL
);

-- One row per session; upstream's person_session/node_session join tables are folded in.
CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    expires BIGINT,
    person_id BIGINT REFERENCES persons (person_id),
    node_id BIGINT REFERENCES nodes (node_id)
);
CREATE UNIQUE INDEX sessions_node ON sessions (node_id) WHERE node_id IS NOT NULL;

CREATE TABLE events (
    event_id {{ID}},
    person_id BIGINT,
    node_id BIGINT,
    auth_type TEXT,
    fault_code BIGINT NOT NULL DEFAULT 0,
    call_name TEXT NOT NULL,
    call TEXT,
    message TEXT,
    runtime DOUBLE PRECISION,
    time BIGINT NOT NULL
);

CREATE TABLE event_object (
    event_id BIGINT NOT NULL REFERENCES events (event_id),
    object_id BIGINT NOT NULL,
    object_type TEXT NOT NULL DEFAULT 'Unknown'
);
CREATE INDEX event_object_event ON event_object (event_id);

INSERT INTO roles (role_id, name) VALUES (10, 'admin'), (20, 'pi'), (30, 'user'), (40, 'tech'), (50, 'node');
INSERT INTO node_types (node_type) VALUES ('regular'), ('reservable'), ('dummynet');
INSERT INTO boot_states (boot_state) VALUES ('boot'), ('safeboot'), ('reinstall'), ('disabled'), ('failboot'), ('install'), ('upgrade');
INSERT INTO network_methods (method) VALUES ('static'), ('dhcp'), ('proxy'), ('tap'), ('ipmi'), ('unknown');
INSERT INTO network_types (type) VALUES ('ipv4');
