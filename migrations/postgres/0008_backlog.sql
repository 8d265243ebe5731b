-- The open backlog of e-mail and social contacts: per program, channel, queue and local day
-- (days since 1970-01-01), how many such contacts arrived and how many got their first
-- response or were closed. Open at the end of a day = arrived - closed, summed up to that day.
CREATE TABLE contact_backlog (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    channel TEXT NOT NULL,
    queue TEXT NOT NULL,
    day BIGINT NOT NULL,
    opened BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    PRIMARY KEY (program_id, channel, queue, day)
);

-- Programs whose backlog has been counted from their contacts; older ones are counted once at
-- start-up.
ALTER TABLE programs ADD COLUMN backlog_counted BOOLEAN NOT NULL DEFAULT FALSE;
