-- Quality rollups of the whole program beside those per agent: the same sums by day, week and
-- month with the agents added up, so a report over every agent reads one row per period instead
-- of one per agent and period (docs/quality.md). Kept by the same statements as the agents' rows.

CREATE TABLE quality_program_rollups (
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
    PRIMARY KEY (program_id, grain, day)
);
INSERT INTO quality_program_rollups (program_id, grain, day, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, grain, day, SUM(evaluations), SUM(scored), SUM(score_sum), SUM(score_sq_sum), SUM(passed), SUM(failed), SUM(rq_yes), SUM(rq_answered), SUM(disputed), SUM(upheld), SUM(partly_upheld), SUM(rejected)
    FROM quality_rollups GROUP BY program_id, grain, day;

CREATE TABLE quality_program_criterion_rollups (
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
    PRIMARY KEY (program_id, grain, day, criterion_key, principle)
);
INSERT INTO quality_program_criterion_rollups (program_id, grain, day, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, grain, day, criterion_key, principle, SUM(answers), SUM(not_applicable), SUM(percent_sum), SUM(percent_sq_sum), SUM(weight_sum), SUM(weighted_sum)
    FROM quality_criterion_rollups GROUP BY program_id, grain, day, criterion_key, principle;
