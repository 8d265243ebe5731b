-- Quality rollups by week and month beside the day, so a year's report reads at most 53 weeks or
-- 12 months of rows per agent (docs/quality.md). `day` is the first day of the row's period: the
-- day itself, the week's Monday or the month's first day, in the program's time zone.

CREATE TABLE quality_rollups_new (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    grain TEXT NOT NULL CHECK (grain = 'day' OR grain = 'week' OR grain = 'month'),
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
    PRIMARY KEY (program_id, grain, day, agent_code)
);
INSERT INTO quality_rollups_new (program_id, grain, day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, 'day', day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected FROM quality_rollups;
DROP TABLE quality_rollups;
ALTER TABLE quality_rollups_new RENAME TO quality_rollups;
INSERT INTO quality_rollups (program_id, grain, day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, 'week', day - ((day + 3) % 7), agent_code, SUM(evaluations), SUM(scored), SUM(score_sum), SUM(score_sq_sum), SUM(passed), SUM(failed), SUM(rq_yes), SUM(rq_answered), SUM(disputed), SUM(upheld), SUM(partly_upheld), SUM(rejected)
    FROM quality_rollups WHERE grain = 'day' GROUP BY program_id, day - ((day + 3) % 7), agent_code;
INSERT INTO quality_rollups (program_id, grain, day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, 'month', CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), agent_code, SUM(evaluations), SUM(scored), SUM(score_sum), SUM(score_sq_sum), SUM(passed), SUM(failed), SUM(rq_yes), SUM(rq_answered), SUM(disputed), SUM(upheld), SUM(partly_upheld), SUM(rejected)
    FROM quality_rollups WHERE grain = 'day' GROUP BY program_id, CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), agent_code;

CREATE TABLE quality_criterion_rollups_new (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    grain TEXT NOT NULL CHECK (grain = 'day' OR grain = 'week' OR grain = 'month'),
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
    PRIMARY KEY (program_id, grain, day, agent_code, criterion_key, principle)
);
INSERT INTO quality_criterion_rollups_new (program_id, grain, day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, 'day', day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum FROM quality_criterion_rollups;
DROP TABLE quality_criterion_rollups;
ALTER TABLE quality_criterion_rollups_new RENAME TO quality_criterion_rollups;
INSERT INTO quality_criterion_rollups (program_id, grain, day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, 'week', day - ((day + 3) % 7), agent_code, criterion_key, principle, SUM(answers), SUM(not_applicable), SUM(percent_sum), SUM(percent_sq_sum), SUM(weight_sum), SUM(weighted_sum)
    FROM quality_criterion_rollups WHERE grain = 'day' GROUP BY program_id, day - ((day + 3) % 7), agent_code, criterion_key, principle;
INSERT INTO quality_criterion_rollups (program_id, grain, day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, 'month', CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), agent_code, criterion_key, principle, SUM(answers), SUM(not_applicable), SUM(percent_sum), SUM(percent_sq_sum), SUM(weight_sum), SUM(weighted_sum)
    FROM quality_criterion_rollups WHERE grain = 'day' GROUP BY program_id, CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), agent_code, criterion_key, principle;
