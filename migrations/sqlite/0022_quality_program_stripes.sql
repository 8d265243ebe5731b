-- Every submission in a program adds to the program's rows of its day, week and month; on
-- PostgreSQL it held them locked until its commit, and submissions queued for these rows. A
-- period's sums are now spread over eight rows (by the evaluated agent); the reports add them
-- up as they add up periods. The same keys on both databases keep one set of statements. Rows
-- so far are stripe 0; a key changes only with a new table.

CREATE TABLE quality_program_rollups_new (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    grain TEXT NOT NULL CHECK (grain = 'day' OR grain = 'week' OR grain = 'month'),
    day BIGINT NOT NULL,
    evaluations BIGINT NOT NULL,
    scored BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    score_sq_sum DOUBLE PRECISION NOT NULL,
    passed BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    rq_yes BIGINT NOT NULL,
    rq_answered BIGINT NOT NULL,
    disputed BIGINT NOT NULL,
    upheld BIGINT NOT NULL,
    partly_upheld BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    stripe BIGINT NOT NULL,
    PRIMARY KEY (program_id, grain, day, stripe)
);
INSERT INTO quality_program_rollups_new
    SELECT program_id, grain, day, evaluations, scored, score_sum, score_sq_sum, passed, failed,
        rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected, 0
    FROM quality_program_rollups;
DROP TABLE quality_program_rollups;
ALTER TABLE quality_program_rollups_new RENAME TO quality_program_rollups;

CREATE TABLE quality_program_criterion_rollups_new (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    grain TEXT NOT NULL CHECK (grain = 'day' OR grain = 'week' OR grain = 'month'),
    day BIGINT NOT NULL,
    criterion_key TEXT NOT NULL,
    principle TEXT NOT NULL,
    answers BIGINT NOT NULL,
    not_applicable BIGINT NOT NULL,
    percent_sum DOUBLE PRECISION NOT NULL,
    percent_sq_sum DOUBLE PRECISION NOT NULL,
    weight_sum DOUBLE PRECISION NOT NULL,
    weighted_sum DOUBLE PRECISION NOT NULL,
    stripe BIGINT NOT NULL,
    PRIMARY KEY (program_id, grain, day, stripe, criterion_key, principle)
);
INSERT INTO quality_program_criterion_rollups_new
    SELECT program_id, grain, day, criterion_key, principle, answers, not_applicable,
        percent_sum, percent_sq_sum, weight_sum, weighted_sum, 0
    FROM quality_program_criterion_rollups;
DROP TABLE quality_program_criterion_rollups;
ALTER TABLE quality_program_criterion_rollups_new RENAME TO quality_program_criterion_rollups;
