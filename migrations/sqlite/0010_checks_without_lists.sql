-- A CHECK of the form `x IN ('a', 'b', 'c')` builds a temporary table each time a statement
-- writes a row. An import stores a contact, and adds to its rollups, with one statement each:
-- those temporary tables cost more than the rows themselves. The same checks written as
-- comparisons cost next to nothing. SQLite cannot change a table's checks in place, so the
-- two tables are built again (ids, their sequence and every row kept).

CREATE TABLE contacts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    external_id TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (
        channel = 'phone' OR channel = 'email' OR channel = 'chat' OR channel = 'social'
        OR channel = 'bot'
    ),
    queue TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    customer_ref TEXT NOT NULL DEFAULT '',
    reason TEXT,
    direction TEXT NOT NULL DEFAULT 'inbound' CHECK (direction = 'inbound' OR direction = 'outbound'),
    arrived_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    wait_s BIGINT NOT NULL DEFAULT 0 CHECK (wait_s >= 0),
    talk_s BIGINT NOT NULL DEFAULT 0 CHECK (talk_s >= 0),
    hold_s BIGINT NOT NULL DEFAULT 0 CHECK (hold_s >= 0),
    acw_s BIGINT NOT NULL DEFAULT 0 CHECK (acw_s >= 0),
    first_response_s BIGINT CHECK (first_response_s >= 0),
    outcome TEXT NOT NULL CHECK (
        outcome = 'handled' OR outcome = 'abandoned' OR outcome = 'transferred'
        OR outcome = 'bot_resolved'
    ),
    resolved BOOLEAN,
    recording_url TEXT,
    transcript TEXT,
    attributes TEXT,
    row_hash TEXT NOT NULL,
    import_id BIGINT,
    imported_at BIGINT NOT NULL,
    fcr_repeat BOOLEAN,
    UNIQUE (program_id, external_id)
);

INSERT INTO contacts_new (id, program_id, external_id, channel, queue, agent, customer_ref, reason,
    direction, arrived_at, answered_at, ended_at, wait_s, talk_s, hold_s, acw_s, first_response_s,
    outcome, resolved, recording_url, transcript, attributes, row_hash, import_id, imported_at,
    fcr_repeat)
SELECT id, program_id, external_id, channel, queue, agent, customer_ref, reason,
    direction, arrived_at, answered_at, ended_at, wait_s, talk_s, hold_s, acw_s, first_response_s,
    outcome, resolved, recording_url, transcript, attributes, row_hash, import_id, imported_at,
    fcr_repeat
FROM contacts ORDER BY id;

-- Ids are never given out twice, even those of contacts deleted before.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'contacts_new', seq FROM sqlite_sequence WHERE name = 'contacts'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'contacts_new');
UPDATE sqlite_sequence
SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'contacts'))
WHERE name = 'contacts_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'contacts');

DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE INDEX contacts_program_arrived ON contacts (program_id, arrived_at);
CREATE INDEX contacts_program_week_customer
    ON contacts (program_id, (arrived_at / 604800000), customer_ref, arrived_at);

-- The rollups, besides, are stored in their key's order (one tree to look a row up in and
-- add to, instead of an index and a table).
CREATE TABLE contact_rollups_new (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    side TEXT NOT NULL CHECK (side = 'queue' OR side = 'agent'),
    grain TEXT NOT NULL CHECK (
        grain = 'interval' OR grain = 'day' OR grain = 'week' OR grain = 'month'
    ),
    period BIGINT NOT NULL,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    handled BIGINT NOT NULL,
    transferred BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    short_abandoned BIGINT NOT NULL,
    bot_resolved BIGINT NOT NULL,
    answered_within_t BIGINT NOT NULL,
    abandoned_within_t BIGINT NOT NULL,
    wait_answered_s BIGINT NOT NULL,
    longest_wait_s BIGINT NOT NULL,
    talk_s BIGINT NOT NULL,
    hold_s BIGINT NOT NULL,
    acw_s BIGINT NOT NULL,
    responded BIGINT NOT NULL,
    responded_within_sla BIGINT NOT NULL,
    first_response_s_sum BIGINT NOT NULL,
    fcr_contacts BIGINT NOT NULL,
    fcr_resolved BIGINT NOT NULL,
    surveys BIGINT NOT NULL,
    csat_answers BIGINT NOT NULL,
    csat_top2 BIGINT NOT NULL,
    csat_sum BIGINT NOT NULL,
    nps_answers BIGINT NOT NULL,
    promoters BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    rq_answers BIGINT NOT NULL,
    rq_yes BIGINT NOT NULL,
    PRIMARY KEY (program_id, side, grain, period, channel, name)
) WITHOUT ROWID;

INSERT INTO contact_rollups_new SELECT * FROM contact_rollups;
DROP TABLE contact_rollups;
ALTER TABLE contact_rollups_new RENAME TO contact_rollups;
