-- Quality figures per program, local day of submission and agent code, kept up to date by every
-- submission, dispute and decision, so quality reports never scan evaluations (docs/quality.md).
-- Only evaluations count (not self-evaluations), once submitted.
CREATE TABLE quality_rollups (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    day BIGINT NOT NULL,
    agent_code TEXT NOT NULL,
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
    PRIMARY KEY (program_id, day, agent_code)
);

-- The same per criterion (by its key, which carries over between form versions) and the
-- principle its section served.
CREATE TABLE quality_criterion_rollups (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    day BIGINT NOT NULL,
    agent_code TEXT NOT NULL,
    criterion_key TEXT NOT NULL,
    principle TEXT NOT NULL,
    answers BIGINT NOT NULL,
    not_applicable BIGINT NOT NULL,
    percent_sum DOUBLE PRECISION NOT NULL,
    percent_sq_sum DOUBLE PRECISION NOT NULL,
    weight_sum DOUBLE PRECISION NOT NULL,
    weighted_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (program_id, day, agent_code, criterion_key, principle)
);
