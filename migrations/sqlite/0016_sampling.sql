-- Sampling plans: N contacts per agent per week, stratified by channel, and targeted rules,
-- assigned to evaluators with due dates (docs/sampling.md). Weeks and days are program-local day
-- numbers (days since 1970-01-01); a week is named by its Monday.
CREATE TABLE sampling_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    name TEXT NOT NULL,
    per_agent BIGINT NOT NULL CHECK (per_agent >= 0),
    -- The channels sampled, comma-separated (phone,email,chat,social).
    channels TEXT NOT NULL,
    -- The targeted rules, as JSON.
    rules TEXT NOT NULL DEFAULT '[]',
    due_days BIGINT NOT NULL CHECK (due_days >= 1),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by BIGINT REFERENCES people (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sampling_plans_program ON sampling_plans (program_id);

CREATE TABLE sampling_plan_evaluators (
    plan_id BIGINT NOT NULL REFERENCES sampling_plans (id),
    position BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (plan_id, person_id)
);

-- One sample per plan and week: a second run of the same week changes nothing.
CREATE TABLE sampling_runs (
    plan_id BIGINT NOT NULL REFERENCES sampling_plans (id),
    week_day BIGINT NOT NULL,
    ran_at BIGINT NOT NULL,
    -- NULL: the weekly schedule.
    ran_by BIGINT REFERENCES people (id),
    assigned BIGINT NOT NULL,
    PRIMARY KEY (plan_id, week_day)
);

-- A contact to evaluate; it is done once a submitted evaluation of the contact exists.
CREATE TABLE sample_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id BIGINT NOT NULL REFERENCES sampling_plans (id),
    program_id BIGINT NOT NULL REFERENCES programs (id),
    week_day BIGINT NOT NULL,
    contact_id BIGINT NOT NULL UNIQUE REFERENCES contacts (id),
    agent_code TEXT NOT NULL,
    evaluator_id BIGINT NOT NULL REFERENCES people (id),
    reason TEXT NOT NULL,
    due_day BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sample_assignments_evaluator ON sample_assignments (evaluator_id, due_day);
CREATE INDEX sample_assignments_program ON sample_assignments (program_id, due_day);
CREATE INDEX sample_assignments_plan ON sample_assignments (plan_id, week_day);
