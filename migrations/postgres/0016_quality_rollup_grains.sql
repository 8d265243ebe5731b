-- Quality rollups by week and month beside the day, so a year's report reads at most 53 weeks or
-- 12 months of rows per agent (docs/quality.md). `day` is the first day of the row's period: the
-- day itself, the week's Monday or the month's first day, in the program's time zone.

ALTER TABLE quality_rollups ADD COLUMN grain TEXT NOT NULL DEFAULT 'day'
    CHECK (grain = 'day' OR grain = 'week' OR grain = 'month');
ALTER TABLE quality_rollups DROP CONSTRAINT quality_rollups_pkey;
ALTER TABLE quality_rollups ADD PRIMARY KEY (program_id, grain, day, agent_code);
INSERT INTO quality_rollups (program_id, grain, day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, 'week', day - ((day + 3) % 7), agent_code, SUM(evaluations), SUM(scored), SUM(score_sum), SUM(score_sq_sum), SUM(passed), SUM(failed), SUM(rq_yes), SUM(rq_answered), SUM(disputed), SUM(upheld), SUM(partly_upheld), SUM(rejected)
    FROM quality_rollups WHERE grain = 'day' GROUP BY program_id, day - ((day + 3) % 7), agent_code;
INSERT INTO quality_rollups (program_id, grain, day, agent_code, evaluations, scored, score_sum, score_sq_sum, passed, failed, rq_yes, rq_answered, disputed, upheld, partly_upheld, rejected)
    SELECT program_id, 'month', (CAST(date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS DATE) - DATE '1970-01-01'), agent_code, SUM(evaluations), SUM(scored), SUM(score_sum), SUM(score_sq_sum), SUM(passed), SUM(failed), SUM(rq_yes), SUM(rq_answered), SUM(disputed), SUM(upheld), SUM(partly_upheld), SUM(rejected)
    FROM quality_rollups WHERE grain = 'day' GROUP BY program_id, (CAST(date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS DATE) - DATE '1970-01-01'), agent_code;

ALTER TABLE quality_criterion_rollups ADD COLUMN grain TEXT NOT NULL DEFAULT 'day'
    CHECK (grain = 'day' OR grain = 'week' OR grain = 'month');
ALTER TABLE quality_criterion_rollups DROP CONSTRAINT quality_criterion_rollups_pkey;
ALTER TABLE quality_criterion_rollups ADD PRIMARY KEY (program_id, grain, day, agent_code, criterion_key, principle);
INSERT INTO quality_criterion_rollups (program_id, grain, day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, 'week', day - ((day + 3) % 7), agent_code, criterion_key, principle, SUM(answers), SUM(not_applicable), SUM(percent_sum), SUM(percent_sq_sum), SUM(weight_sum), SUM(weighted_sum)
    FROM quality_criterion_rollups WHERE grain = 'day' GROUP BY program_id, day - ((day + 3) % 7), agent_code, criterion_key, principle;
INSERT INTO quality_criterion_rollups (program_id, grain, day, agent_code, criterion_key, principle, answers, not_applicable, percent_sum, percent_sq_sum, weight_sum, weighted_sum)
    SELECT program_id, 'month', (CAST(date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS DATE) - DATE '1970-01-01'), agent_code, criterion_key, principle, SUM(answers), SUM(not_applicable), SUM(percent_sum), SUM(percent_sq_sum), SUM(weight_sum), SUM(weighted_sum)
    FROM quality_criterion_rollups WHERE grain = 'day' GROUP BY program_id, (CAST(date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS DATE) - DATE '1970-01-01'), agent_code, criterion_key, principle;
