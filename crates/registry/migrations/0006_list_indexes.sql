-- Reads fill list fields with one correlated subquery per row (query.rs `list_expr`): each
-- subquery must find its owner's rows by index, or a registry with many persons pays a scan of
-- the whole membership table for every site read (a site's person_ids). Ending a person's
-- sessions (a password change, a role removal) looks them up by person too.
CREATE INDEX person_site_site ON person_site (site_id);
CREATE INDEX sessions_person ON sessions (person_id);
