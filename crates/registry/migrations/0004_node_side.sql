-- The node side: mail templates (docs/plc-api.md §12.5) and the outgoing mail queue.

-- Message templates, as upstream's `messages` table: Python %(name)s substitutions in subject
-- and template. Defaults are inserted at start only where missing, so operators' edits survive.
CREATE TABLE messages (
    message_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL DEFAULT '',
    template TEXT NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1
);

-- Mail waiting to be handed to the relay. A row is written in the transaction of the call that
-- causes it (so a call that rolls back sends nothing) and delivered afterwards by a background
-- task of any instance sharing the database: it claims a due row by setting claimed_until, then
-- marks it sent, or schedules the next attempt, or gives up (failed) after the last attempt.
CREATE TABLE mail_outbox (
    mail_id {{ID}},
    created BIGINT NOT NULL,
    -- The template (message_id) the mail was made from, for logs and tests.
    message_id TEXT,
    sender TEXT NOT NULL,
    reply_to TEXT,
    -- One address per line.
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- queued | sent | failed
    state TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    finished BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt);
