-- Contacts of every channel, survey answers, import jobs and their rejects.

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    external_id TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'chat', 'social', 'bot')),
    queue TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    customer_ref TEXT NOT NULL DEFAULT '',
    reason TEXT,
    direction TEXT NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound', 'outbound')),
    arrived_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    wait_s BIGINT NOT NULL DEFAULT 0 CHECK (wait_s >= 0),
    talk_s BIGINT NOT NULL DEFAULT 0 CHECK (talk_s >= 0),
    hold_s BIGINT NOT NULL DEFAULT 0 CHECK (hold_s >= 0),
    acw_s BIGINT NOT NULL DEFAULT 0 CHECK (acw_s >= 0),
    first_response_s BIGINT CHECK (first_response_s >= 0),
    outcome TEXT NOT NULL CHECK (outcome IN ('handled', 'abandoned', 'transferred', 'bot_resolved')),
    resolved BOOLEAN,
    recording_url TEXT,
    transcript TEXT,
    attributes TEXT,
    row_hash TEXT NOT NULL,
    import_id BIGINT,
    imported_at BIGINT NOT NULL,
    UNIQUE (program_id, external_id)
);
CREATE INDEX contacts_program_arrived ON contacts (program_id, arrived_at);
CREATE INDEX contacts_program_customer ON contacts (program_id, customer_ref, arrived_at);

CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    kind TEXT NOT NULL CHECK (kind IN ('contacts', 'surveys')),
    source_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    rows_read BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    rejects_file TEXT,
    error TEXT,
    created_by TEXT NOT NULL
);
CREATE INDEX import_jobs_program ON import_jobs (program_id, started_at);

-- The first rejects of each job, for the UI (the rejects file has them all).
CREATE TABLE import_rejects (
    job_id BIGINT NOT NULL REFERENCES import_jobs (id),
    row_no BIGINT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, row_no, field)
);

-- The key of the keyed hash that pseudonymises customer references (set at start-up).
ALTER TABLE organisation ADD COLUMN pseudonym_key TEXT;
