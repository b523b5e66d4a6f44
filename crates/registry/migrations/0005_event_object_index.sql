-- Events of one object, found without reading them all: the boot notices' rate limits
-- (BootNotifyOwners, and the authfail notice anyone can provoke with a wrong node signature)
-- look up a node's recent notices on every such call.
CREATE INDEX event_object_object ON event_object (object_type, object_id);
