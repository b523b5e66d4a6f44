-- The registry at scale for bench/api.sh (SCALE=1): 1,000 sites, 100,000 nodes, 200,000
-- interfaces (a primary DHCP one and a secondary static one per node), 10 tag types and
-- 1,000,000 node tags, 20,000 persons with their sites. Plain SQL that SQLite and PostgreSQL
-- both run (recursive CTEs instead of generate_series); ids come from the tables' sequences.
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
INSERT INTO sites (name, abbreviated_name, login_base, date_created, last_updated)
SELECT 'Scale site ' || x, 'scale' || x, 'sc' || x, 0, 0 FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO nodes (hostname, site_id, boot_state, node_key, date_created, last_updated)
SELECT 'n' || x || '.scale.example.org', (SELECT site_id FROM sites WHERE login_base = 'sc1') + (x % 1000),
       CASE WHEN x % 3 = 0 THEN 'boot' ELSE 'reinstall' END, 'key' || x, 0, 0 FROM c;

INSERT INTO interfaces (node_id, is_primary, type, method, mac, last_updated)
SELECT node_id, 1, 'ipv4', 'dhcp', '52:54:00:00:00:01', 0 FROM nodes WHERE hostname LIKE 'n%.scale.example.org';
INSERT INTO interfaces (node_id, is_primary, type, method, ip, netmask, gateway, network, broadcast, dns1, last_updated)
SELECT node_id, 0, 'ipv4', 'static', '10.0.0.2', '255.255.255.0', '10.0.0.1', '10.0.0.0', '10.0.0.255', '10.0.0.53', 0
FROM nodes WHERE hostname LIKE 'n%.scale.example.org';

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
INSERT INTO tag_types (tagname, description, category) SELECT 'scaletag' || x, 'scale', 'node/scale' FROM c;
INSERT INTO node_tag (node_id, tag_type_id, value)
SELECT n.node_id, t.tag_type_id, 'v' || n.node_id FROM nodes n, tag_types t
WHERE n.hostname LIKE 'n%.scale.example.org' AND t.tagname LIKE 'scaletag%';

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO persons (email, first_name, last_name, enabled, date_created, last_updated)
SELECT 'p' || x || '@scale.example.org', 'P', 'Scale', 1, 0, 0 FROM c;
INSERT INTO person_site (person_id, site_id, is_primary)
SELECT p.person_id, (SELECT site_id FROM sites WHERE login_base = 'sc1') + (p.person_id % 1000), 1
FROM persons p WHERE p.email LIKE 'p%@scale.example.org';
