-- Every submission in a program adds to the program's rows of its day, week and month, and held
-- them locked until its commit: with many evaluators at once, submissions queued for these rows.
-- A period's sums are now spread over eight rows (by the evaluated agent); the reports add them
-- up as they add up periods. Rows so far are stripe 0.

ALTER TABLE quality_program_rollups ADD COLUMN stripe BIGINT NOT NULL DEFAULT 0;
ALTER TABLE quality_program_rollups ALTER COLUMN stripe DROP DEFAULT;
ALTER TABLE quality_program_rollups DROP CONSTRAINT quality_program_rollups_pkey;
ALTER TABLE quality_program_rollups ADD PRIMARY KEY (program_id, grain, day, stripe);

ALTER TABLE quality_program_criterion_rollups ADD COLUMN stripe BIGINT NOT NULL DEFAULT 0;
ALTER TABLE quality_program_criterion_rollups ALTER COLUMN stripe DROP DEFAULT;
ALTER TABLE quality_program_criterion_rollups DROP CONSTRAINT quality_program_criterion_rollups_pkey;
ALTER TABLE quality_program_criterion_rollups
    ADD PRIMARY KEY (program_id, grain, day, stripe, criterion_key, principle);
