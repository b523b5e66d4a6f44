-- The file results GetBootMedium wrote, for the per-caller quota ([medium] result_quota_*):
-- who wrote which file and how big it was. A caller's usage is the size of those of its files
-- that still exist (rows of removed files are dropped when the quota is next checked); a file
-- written again belongs to its latest writer.
CREATE TABLE result_files (
    path TEXT PRIMARY KEY,
    caller TEXT NOT NULL,
    size BIGINT NOT NULL,
    written_at BIGINT NOT NULL
);
CREATE INDEX result_files_caller ON result_files (caller);
