-- The SQL the registry's condition-tree compiler (crates/registry/src/query.rs) sends to PostgreSQL
-- for each case of crates/registry/tests/sql_golden/cases.rs: the one statement (list fields as
-- JSON arrays in it), followed by its bound values.
-- Generated, do not edit: UPDATE_GOLDEN=1 cargo test -p bootmedium-registry --test sql_golden

-- case node_true
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id;

-- case node_false
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_and_empty
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id;

-- case node_or_empty
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case interface_true_has_no_live_condition
--   Interface; fields: interface_id
SELECT t.interface_id, t.interface_id FROM interfaces t WHERE 1 = 1 ORDER BY t.interface_id;

-- case site_true
--   Site; fields: site_id, login_base, latitude, enabled
SELECT t.site_id, t.site_id, t.login_base, t.latitude, t.enabled FROM sites t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.site_id;

-- case person_true
--   Person; fields: person_id, email, title
SELECT t.person_id, t.person_id, t.email, t.title FROM persons t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.person_id;

-- case role_true
--   Role; fields: role_id, name
SELECT t.role_id, t.role_id, t.name FROM roles t WHERE 1 = 1 ORDER BY t.role_id;

-- case node_eq_int
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.site_id = $1 ORDER BY t.node_id;
--   $1 = int 1

-- case node_lt_int
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact < $1 ORDER BY t.node_id;
--   $1 = int 200

-- case node_gt_int
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact > $1 ORDER BY t.node_id;
--   $1 = int 100

-- case node_le_int
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact <= $1 ORDER BY t.node_id;
--   $1 = int 100

-- case node_ge_int
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact >= $1 ORDER BY t.node_id;
--   $1 = int 200

-- case node_eq_text
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.hostname = $1 ORDER BY t.node_id;
--   $1 = text "n2.alpha.example.org"

-- case node_eq_text_is_case_sensitive
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.hostname = $1 ORDER BY t.node_id;
--   $1 = text "N2.ALPHA.EXAMPLE.ORG"

-- case node_lt_text
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.hostname < $1 ORDER BY t.node_id;
--   $1 = text "n2"

-- case node_ge_text
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.boot_state >= $1 ORDER BY t.node_id;
--   $1 = text "reinstall"

-- case site_gt_float
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND t.latitude > $1 ORDER BY t.site_id;
--   $1 = float 1.0

-- case site_eq_float
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND t.latitude = $1 ORDER BY t.site_id;
--   $1 = float 1.5

-- case event_lt_float
--   Event; fields: event_id, runtime, call_name
SELECT t.event_id, t.event_id, t.runtime, t.call_name FROM events t WHERE t.runtime < $1 ORDER BY t.event_id;
--   $1 = float 1.0

-- case node_eq_bool_true
--   Node; fields: node_id, verified
SELECT t.node_id, t.node_id, t.verified FROM nodes t WHERE t.deleted = 0 AND t.verified = $1 ORDER BY t.node_id;
--   $1 = int 1

-- case node_eq_bool_false
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.verified = $1 ORDER BY t.node_id;
--   $1 = int 0

-- case node_is_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact IS NULL ORDER BY t.node_id;

-- case node_is_null_text
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.run_level IS NULL ORDER BY t.node_id;

-- case node_not_is_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((t.run_level IS NULL), 1 = 0) ORDER BY t.node_id;

-- case node_eq_null_matches_nothing
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact = $1 ORDER BY t.node_id;
--   $1 = int NULL

-- case node_not_eq_null_matches_all
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((t.last_contact = $1), 1 = 0) ORDER BY t.node_id;
--   $1 = int NULL

-- case node_not_gt_keeps_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((t.last_contact > $1), 1 = 0) ORDER BY t.node_id;
--   $1 = int 100

-- case node_not_eq_text_keeps_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((t.run_level = $1), 1 = 0) ORDER BY t.node_id;
--   $1 = text "boot"

-- case person_is_null
--   Person; fields: person_id
SELECT t.person_id, t.person_id FROM persons t WHERE t.deleted = 0 AND t.title IS NULL ORDER BY t.person_id;

-- case node_or_of_ands
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND ((t.site_id = $1 AND t.verified = $2) OR (t.site_id = $3 AND NOT COALESCE((t.boot_state = $4), 1 = 0))) ORDER BY t.node_id;
--   $1 = int 1
--   $2 = int 1
--   $3 = int 2
--   $4 = text "boot"

-- case node_not_or
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE(((t.site_id = $1 OR t.last_contact < $2)), 1 = 0) ORDER BY t.node_id;
--   $1 = int 2
--   $2 = int 100

-- case node_not_not
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((NOT COALESCE((t.site_id = $1), 1 = 0)), 1 = 0) ORDER BY t.node_id;
--   $1 = int 2

-- case node_not_true
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((1 = 1), 1 = 0) ORDER BY t.node_id;

-- case node_not_false
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((1 = 0), 1 = 0) ORDER BY t.node_id;

-- case node_not_and_empty
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((1 = 1), 1 = 0) ORDER BY t.node_id;

-- case node_not_or_empty
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((1 = 0), 1 = 0) ORDER BY t.node_id;

-- case node_and_true_or_false
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (1 = 1 AND (1 = 0 OR LOWER(t.hostname) LIKE LOWER($1) ESCAPE '\')) ORDER BY t.node_id;
--   $1 = text "n1%"

-- case node_deep_nesting
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (NOT COALESCE(((t.verified = $1 AND NOT COALESCE((t.run_level IS NULL), 1 = 0))), 1 = 0) AND (t.site_id = $2 OR t.site_id = $3)) ORDER BY t.node_id;
--   $1 = int 1
--   $2 = int 1
--   $3 = int 2

-- case node_in_none
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_not_in_none
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((1 = 0), 1 = 0) ORDER BY t.node_id;

-- case node_in_one
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.node_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[12]"

-- case node_in_many
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.node_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[11,13,14,99,9223372036854775807,-9223372036854775808]"

-- case node_in_text
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.hostname IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[\"n2.alpha.example.org\",\"N1.ALPHA.EXAMPLE.ORG\"]"

-- case node_in_text_json_escapes
--   Node; fields: node_id, model
SELECT t.node_id, t.node_id, t.model FROM nodes t WHERE t.deleted = 0 AND t.model IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[\"say \\\"hi\\\" \\\\ now\",\"tab\\u0009here\\u0001\"]"

-- case node_in_with_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.last_contact IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[null,100]"

-- case node_not_in_keeps_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((t.last_contact IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))), 1 = 0) ORDER BY t.node_id;
--   $1 = text "[100]"

-- case node_in_bool
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND t.verified IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.node_id;
--   $1 = text "[1]"

-- case site_in_float
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND t.latitude IN (SELECT CAST(value AS DOUBLE PRECISION) FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.site_id;
--   $1 = text "[1.5,2.0]"

-- case node_in_tag
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $1) IN (SELECT value FROM json_array_elements_text(CAST($2 AS JSON))) ORDER BY t.node_id;
--   $1 = text "arch"
--   $2 = text "[\"i386\",\"x86_64\"]"

-- case node_in_list_field
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[22,23]"

-- case node_contains_any
--   Node; fields: node_id, interface_ids
SELECT t.node_id, t.node_id, (SELECT COALESCE(json_agg(i.interface_id ORDER BY i.is_primary DESC, i.interface_id), json_build_array())::text FROM interfaces i WHERE i.node_id = t.node_id) FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[22,23]"

-- case node_contains_any_of_deleted_node
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[24]"

-- case node_contains_all
--   Node; fields: node_id, interface_ids
SELECT t.node_id, t.node_id, (SELECT COALESCE(json_agg(i.interface_id ORDER BY i.is_primary DESC, i.interface_id), json_build_array())::text FROM interfaces i WHERE i.node_id = t.node_id) FROM nodes t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT i.interface_id) FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.node_id;
--   $1 = text "[22,21]"
--   $2 = int 2

-- case node_contains_all_duplicates
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT i.interface_id) FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.node_id;
--   $1 = text "[21,22]"
--   $2 = int 2

-- case node_contains_all_across_rows
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT i.interface_id) FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.node_id;
--   $1 = text "[21,23]"
--   $2 = int 2

-- case node_contains_all_none
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id;

-- case node_contains_any_none
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_contains_all_with_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT i.interface_id) FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.node_id;
--   $1 = text "[21,null]"
--   $2 = int 2

-- case node_not_contains_any
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))))), 1 = 0) ORDER BY t.node_id;
--   $1 = text "[21]"

-- case node_list_eq_is_contains
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[23]"

-- case node_list_lt_is_contains
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM interfaces i WHERE i.node_id = t.node_id AND i.interface_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[23]"

-- case node_nodegroups_contains_any
--   Node; fields: node_id, nodegroup_ids, node_tag_ids
SELECT t.node_id, t.node_id, (SELECT COALESCE(json_agg(ng.nodegroup_id ORDER BY ng.nodegroup_id), json_build_array())::text FROM node_tag nt JOIN nodegroups ng ON ng.tag_type_id = nt.tag_type_id AND ng.value = nt.value WHERE nt.node_id = t.node_id), (SELECT COALESCE(json_agg(nt.node_tag_id ORDER BY nt.node_tag_id), json_build_array())::text FROM node_tag nt WHERE nt.node_id = t.node_id) FROM nodes t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM node_tag nt JOIN nodegroups ng ON ng.tag_type_id = nt.tag_type_id AND ng.value = nt.value WHERE nt.node_id = t.node_id AND ng.nodegroup_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.node_id;
--   $1 = text "[71]"

-- case node_unmodelled_contains_any
--   Node; fields: node_id, slice_ids
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_unmodelled_eq
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NULL = $1 ORDER BY t.node_id;
--   $1 = int 1

-- case node_unmodelled_is_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NULL IS NULL ORDER BY t.node_id;

-- case node_contains_any_on_scalar
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_contains_all_on_tag
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case node_contains_all_none_on_scalar
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 0 ORDER BY t.node_id;

-- case person_roles_contains_all
--   Person; fields: person_id, roles, role_ids, site_ids
SELECT t.person_id, t.person_id, (SELECT COALESCE(json_agg(r.name ORDER BY r.role_id), json_build_array())::text FROM person_role pr JOIN roles r ON r.role_id = pr.role_id WHERE pr.person_id = t.person_id), (SELECT COALESCE(json_agg(pr.role_id ORDER BY pr.role_id), json_build_array())::text FROM person_role pr WHERE pr.person_id = t.person_id), (SELECT COALESCE(json_agg(ps.site_id ORDER BY ps.is_primary DESC, ps.site_id), json_build_array())::text FROM person_site ps JOIN sites s ON s.site_id = ps.site_id AND s.deleted = 0 WHERE ps.person_id = t.person_id) FROM persons t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT r.name) FROM person_role pr JOIN roles r ON r.role_id = pr.role_id WHERE pr.person_id = t.person_id AND r.name IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.person_id;
--   $1 = text "[\"admin\",\"pi\"]"
--   $2 = int 2

-- case person_roles_contains_any
--   Person; fields: person_id
SELECT t.person_id, t.person_id FROM persons t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM person_role pr JOIN roles r ON r.role_id = pr.role_id WHERE pr.person_id = t.person_id AND r.name IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.person_id;
--   $1 = text "[\"pi\",\"tech\"]"

-- case person_role_ids_contains_any
--   Person; fields: person_id, site_ids
SELECT t.person_id, t.person_id, (SELECT COALESCE(json_agg(ps.site_id ORDER BY ps.is_primary DESC, ps.site_id), json_build_array())::text FROM person_site ps JOIN sites s ON s.site_id = ps.site_id AND s.deleted = 0 WHERE ps.person_id = t.person_id) FROM persons t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM person_role pr WHERE pr.person_id = t.person_id AND pr.role_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.person_id;
--   $1 = text "[30]"

-- case site_person_ids_contains_any
--   Site; fields: site_id, person_ids, node_ids
SELECT t.site_id, t.site_id, (SELECT COALESCE(json_agg(ps.person_id ORDER BY ps.person_id), json_build_array())::text FROM person_site ps JOIN persons p ON p.person_id = ps.person_id AND p.deleted = 0 WHERE ps.site_id = t.site_id), (SELECT COALESCE(json_agg(n.node_id ORDER BY n.node_id), json_build_array())::text FROM (SELECT t.node_id, t.site_id FROM nodes t WHERE t.deleted = 0) n WHERE n.site_id = t.site_id) FROM sites t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM person_site ps JOIN persons p ON p.person_id = ps.person_id AND p.deleted = 0 WHERE ps.site_id = t.site_id AND ps.person_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.site_id;
--   $1 = text "[32]"

-- case site_person_ids_of_deleted_person
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM person_site ps JOIN persons p ON p.person_id = ps.person_id AND p.deleted = 0 WHERE ps.site_id = t.site_id AND ps.person_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.site_id;
--   $1 = text "[33]"

-- case site_node_ids_contains_all
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND (SELECT COUNT(DISTINCT n.node_id) FROM (SELECT t.node_id, t.site_id FROM nodes t WHERE t.deleted = 0) n WHERE n.site_id = t.site_id AND n.node_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.site_id;
--   $1 = text "[13,15]"
--   $2 = int 2

-- case site_node_ids_of_deleted_node
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND EXISTS (SELECT 1 FROM (SELECT t.node_id, t.site_id FROM nodes t WHERE t.deleted = 0) n WHERE n.site_id = t.site_id AND n.node_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.site_id;
--   $1 = text "[14]"

-- case nodegroup_node_ids
--   NodeGroup; fields: nodegroup_id, groupname, node_ids, tagname
SELECT t.nodegroup_id, t.nodegroup_id, t.groupname, (SELECT tt.tagname FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id), (SELECT COALESCE(json_agg(nt.node_id ORDER BY nt.node_id), json_build_array())::text FROM nodegroups ng JOIN node_tag nt ON nt.tag_type_id = ng.tag_type_id AND nt.value = ng.value JOIN nodes n ON n.node_id = nt.node_id AND n.deleted = 0 WHERE ng.nodegroup_id = t.nodegroup_id) FROM nodegroups t WHERE EXISTS (SELECT 1 FROM nodegroups ng JOIN node_tag nt ON nt.tag_type_id = ng.tag_type_id AND nt.value = ng.value JOIN nodes n ON n.node_id = nt.node_id AND n.deleted = 0 WHERE ng.nodegroup_id = t.nodegroup_id AND nt.node_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.nodegroup_id;
--   $1 = text "[11]"

-- case event_object_ids_contains_all
--   Event; fields: event_id, object_ids, object_types
SELECT t.event_id, t.event_id, (SELECT COALESCE(json_agg(eo.object_id ORDER BY eo.object_type, eo.object_id), json_build_array())::text FROM event_object eo WHERE eo.event_id = t.event_id), (SELECT COALESCE(json_agg(eo.object_type ORDER BY eo.object_type, eo.object_id), json_build_array())::text FROM event_object eo WHERE eo.event_id = t.event_id) FROM events t WHERE (SELECT COUNT(DISTINCT eo.object_id) FROM event_object eo WHERE eo.event_id = t.event_id AND eo.object_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.event_id;
--   $1 = text "[11,1]"
--   $2 = int 2

-- case event_object_types_contains_any
--   Event; fields: event_id
SELECT t.event_id, t.event_id FROM events t WHERE EXISTS (SELECT 1 FROM event_object eo WHERE eo.event_id = t.event_id AND eo.object_type IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON)))) ORDER BY t.event_id;
--   $1 = text "[\"Site\"]"

-- case issued_options_contains_all
--   IssuedMedium; fields: issued_medium_id, hostname, options
SELECT t.issued_medium_id, t.issued_medium_id, n.hostname, (SELECT COALESCE(json_agg(o.value ORDER BY o.position), json_build_array())::text FROM issued_medium_option o WHERE o.issued_medium_id = t.issued_medium_id) FROM issued_media t JOIN nodes n ON n.node_id = t.node_id WHERE (SELECT COUNT(DISTINCT o.value) FROM issued_medium_option o WHERE o.issued_medium_id = t.issued_medium_id AND o.value IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON)))) = $2 ORDER BY t.issued_medium_id;
--   $1 = text "[\"serial\",\"variant:x\"]"
--   $2 = int 2

-- case issued_by_joined_hostname
--   IssuedMedium; fields: issued_medium_id, options
SELECT t.issued_medium_id, t.issued_medium_id, (SELECT COALESCE(json_agg(o.value ORDER BY o.position), json_build_array())::text FROM issued_medium_option o WHERE o.issued_medium_id = t.issued_medium_id) FROM issued_media t JOIN nodes n ON n.node_id = t.node_id WHERE n.hostname = $1 ORDER BY t.issued_medium_id;
--   $1 = text "n2.alpha.example.org"

-- case node_tag_eq
--   Node; fields: node_id, arch
SELECT t.node_id, t.node_id, (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $1) FROM nodes t WHERE t.deleted = 0 AND (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $2) = $3 ORDER BY t.node_id;
--   $1 = text "arch"
--   $2 = text "arch"
--   $3 = text "x86_64"

-- case node_tag_is_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $1) IS NULL ORDER BY t.node_id;
--   $1 = text "arch"

-- case node_tag_like
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER((SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $1)) LIKE LOWER($2) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "arch"
--   $2 = text "X86%"

-- case node_tag_everywhere
--   Node; fields: node_id, hostname, arch; sort: -arch
SELECT t.node_id, t.node_id, t.hostname, (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $1) FROM nodes t WHERE t.deleted = 0 AND ((SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $2) = $3 OR (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $4) IS NULL) ORDER BY (SELECT tg.value FROM node_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.node_id = t.node_id AND tgt.tagname = $5) DESC NULLS FIRST, t.node_id;
--   $1 = text "arch"
--   $2 = text "arch"
--   $3 = text "x86_64"
--   $4 = text "pldistro"
--   $5 = text "arch"

-- case interface_tag_eq
--   Interface; fields: interface_id, ip, ifname
SELECT t.interface_id, t.interface_id, t.ip, (SELECT tg.value FROM interface_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.interface_id = t.interface_id AND tgt.tagname = $1) FROM interfaces t WHERE (SELECT tg.value FROM interface_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.interface_id = t.interface_id AND tgt.tagname = $2) = $3 ORDER BY t.interface_id;
--   $1 = text "ifname"
--   $2 = text "ifname"
--   $3 = text "eth0"

-- case interface_tag_like_escaped
--   Interface; fields: interface_id
SELECT t.interface_id, t.interface_id FROM interfaces t WHERE LOWER((SELECT tg.value FROM interface_tag tg JOIN tag_types tgt ON tgt.tag_type_id = tg.tag_type_id WHERE tg.interface_id = t.interface_id AND tgt.tagname = $1)) LIKE LOWER($2) ESCAPE '\' ORDER BY t.interface_id;
--   $1 = text "ifname"
--   $2 = text "eth\\_%"

-- case site_tag_is_null
--   Site; fields: site_id, arch
SELECT t.site_id, t.site_id, NULL FROM sites t WHERE t.deleted = 0 AND NULL IS NULL ORDER BY t.site_id;

-- case site_tag_eq
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND NULL = $1 ORDER BY t.site_id;
--   $1 = text "x86_64"

-- case site_tag_like
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND NOT COALESCE((LOWER(NULL) LIKE LOWER($1) ESCAPE '\'), 1 = 0) ORDER BY t.site_id;
--   $1 = text "x86%"

-- case site_tag_in
--   Site; fields: site_id
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND NULL IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.site_id;
--   $1 = text "[\"x86_64\"]"

-- case node_like_underscore_wildcard
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.hostname) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "n_.alpha.example.org"

-- case node_like_case_insensitive
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.hostname) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "%beta%"

-- case node_like_upper_pattern
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.hostname) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "N%ALPHA%"

-- case node_like_escaped_underscore
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "dell\\_r710"

-- case node_like_unescaped_underscore
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "dell_r710"

-- case node_like_escaped_percent
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "100\\%%"

-- case node_like_escaped_percent_literal
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "100\\%"

-- case node_like_escaped_backslash
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "%\\\\ now"

-- case node_like_quote
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.model) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "%\"hi\"%"

-- case node_not_like
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((LOWER(t.model) LIKE LOWER($1) ESCAPE '\'), 1 = 0) ORDER BY t.node_id;
--   $1 = text "dell%"

-- case node_not_like_keeps_null
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND NOT COALESCE((LOWER(t.run_level) LIKE LOWER($1) ESCAPE '\'), 1 = 0) ORDER BY t.node_id;
--   $1 = text "boot"

-- case node_like_non_ascii_case
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER(t.version) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "élan"

-- case tag_type_like
--   TagType; fields: tag_type_id, tagname, roles
SELECT t.tag_type_id, t.tag_type_id, t.tagname, (SELECT COALESCE(json_agg(r.name ORDER BY r.role_id), json_build_array())::text FROM tag_type_role ttr JOIN roles r ON r.role_id = ttr.role_id WHERE ttr.tag_type_id = t.tag_type_id) FROM tag_types t WHERE LOWER(t.tagname) LIKE LOWER($1) ESCAPE '\' ORDER BY t.tag_type_id;
--   $1 = text "%DIST%"

-- case node_admin_fields
--   Node; fields: node_id, boot_nonce, key, session
SELECT t.node_id, t.node_id, t.boot_nonce, t.node_key, (SELECT s.session_id FROM sessions s WHERE s.node_id = t.node_id) FROM nodes t WHERE t.deleted = 0 AND t.node_key = $1 ORDER BY t.node_id;
--   $1 = text "key-11"

-- case node_admin_subquery_like
--   Node; fields: node_id
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND LOWER((SELECT s.session_id FROM sessions s WHERE s.node_id = t.node_id)) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_id;
--   $1 = text "SESS-%"

-- case node_sort_asc_nulls
--   Node; fields: node_id; sort: last_contact
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.last_contact ASC NULLS LAST, t.node_id;

-- case node_sort_desc_nulls
--   Node; fields: node_id; sort: -last_contact
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.last_contact DESC NULLS FIRST, t.node_id;

-- case node_sort_several
--   Node; fields: node_id, site_id, run_level, hostname; sort: site_id, -run_level, hostname
SELECT t.node_id, t.node_id, t.site_id, t.run_level, t.hostname FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.site_id ASC NULLS LAST, t.run_level DESC NULLS FIRST, t.hostname ASC NULLS LAST, t.node_id;

-- case node_sort_bool_desc
--   Node; fields: node_id; sort: -verified
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.verified DESC NULLS FIRST, t.node_id;

-- case site_sort_float_desc
--   Site; fields: site_id; sort: -latitude
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.latitude DESC NULLS FIRST, t.site_id;

-- case node_sort_desc_limit_offset
--   Node; fields: node_id; sort: -hostname; limit 2; offset 1
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.hostname DESC NULLS FIRST, t.node_id LIMIT $1 OFFSET $2;
--   $1 = int 2
--   $2 = int 1

-- case node_offset_without_limit
--   Node; fields: node_id; sort: hostname; offset 3
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.hostname ASC NULLS LAST, t.node_id LIMIT $1 OFFSET $2;
--   $1 = int 9223372036854775807
--   $2 = int 3

-- case node_limit_only
--   Node; fields: node_id; limit 2
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id LIMIT $1;
--   $1 = int 2

-- case node_limit_zero
--   Node; fields: node_id; limit 0
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id LIMIT $1;
--   $1 = int 0

-- case node_sort_list_field
--   Node; fields: node_id; sort: interface_ids
SELECT t.node_id, t.node_id FROM nodes t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.node_id;

-- case site_sort_tag_without_tags
--   Site; fields: site_id; sort: -arch
SELECT t.site_id, t.site_id FROM sites t WHERE t.deleted = 0 AND 1 = 1 ORDER BY t.site_id;

-- case node_tag_by_tagname
--   NodeTag; fields: node_tag_id, hostname, value
SELECT t.node_tag_id, t.node_tag_id, (SELECT n.hostname FROM nodes n WHERE n.node_id = t.node_id), t.value FROM node_tag t WHERE (SELECT tt.tagname FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id) = $1 ORDER BY t.node_tag_id;
--   $1 = text "arch"

-- case node_tag_by_hostname
--   NodeTag; fields: node_tag_id
SELECT t.node_tag_id, t.node_tag_id FROM node_tag t WHERE LOWER((SELECT n.hostname FROM nodes n WHERE n.node_id = t.node_id)) LIKE LOWER($1) ESCAPE '\' ORDER BY t.node_tag_id;
--   $1 = text "n1%"

-- case interface_tag_true
--   InterfaceTag; fields: interface_tag_id, ip, tagname, value
SELECT t.interface_tag_id, t.interface_tag_id, (SELECT i.ip FROM interfaces i WHERE i.interface_id = t.interface_id), (SELECT tt.tagname FROM tag_types tt WHERE tt.tag_type_id = t.tag_type_id), t.value FROM interface_tag t WHERE 1 = 1 ORDER BY t.interface_tag_id;

-- case event_object_by_type
--   EventObject; fields: event_id, object_type, object_id, call_name; sort: object_type
SELECT t.event_id, t.event_id, eo.object_type, eo.object_id, t.call_name FROM event_object eo JOIN events t ON t.event_id = eo.event_id WHERE 1 = 1 ORDER BY eo.object_type ASC NULLS LAST, t.event_id;

-- case role_in_text
--   Role; fields: role_id
SELECT t.role_id, t.role_id FROM roles t WHERE t.name IN (SELECT value FROM json_array_elements_text(CAST($1 AS JSON))) ORDER BY t.role_id;
--   $1 = text "[\"pi\",\"tech\"]"
