-- A new key supersedes the node's current keyed medium (ops::ledger::record): found through
-- this index, that costs the same whether the node has been issued ten media or a hundred
-- thousand. Through the plain node index it read every medium the node ever had.
CREATE INDEX issued_media_current_key ON issued_media (node_id) WHERE superseded_by IS NULL AND node_key IS NOT NULL;
