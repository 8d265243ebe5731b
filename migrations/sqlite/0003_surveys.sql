-- Survey answers, one per contact, linked by the contact's external id (the contact may be
-- imported before or after its survey).
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    contact_external_id TEXT NOT NULL,
    answered_at BIGINT,
    csat SMALLINT CHECK (csat BETWEEN 1 AND 5),
    nps SMALLINT CHECK (nps BETWEEN 0 AND 10),
    rq BOOLEAN,
    effort SMALLINT CHECK (effort BETWEEN 1 AND 7),
    comment TEXT,
    row_hash TEXT NOT NULL,
    import_id BIGINT,
    imported_at BIGINT NOT NULL,
    UNIQUE (program_id, contact_external_id)
);
