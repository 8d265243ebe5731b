-- Quality monitoring: customer principles, the KPIs quality serves, evaluation forms and their
-- versions, evaluations with their answers and history (docs/quality.md, docs/scoring.md).

-- A principle or KPI with no program is the organisation's; one with a program is that program's own.
CREATE TABLE principles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT REFERENCES programs (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX principles_key ON principles (COALESCE(program_id, 0), key);

CREATE TABLE quality_kpis (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT REFERENCES programs (id),
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX quality_kpis_key ON quality_kpis (COALESCE(program_id, 0), key);
INSERT INTO quality_kpis (program_id, key, name, description, created_at) VALUES
    (NULL, 'csat', 'Customer satisfaction', '', 0),
    (NULL, 'fcr', 'First-contact resolution', '', 0),
    (NULL, 'commercial', 'Commercial value', '', 0);

CREATE TABLE forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    template TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX forms_program ON forms (program_id);

-- A published version never changes; editing makes a new draft (one per form at a time).
CREATE TABLE form_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    form_id BIGINT NOT NULL REFERENCES forms (id),
    version BIGINT NOT NULL CHECK (version >= 1),
    status TEXT NOT NULL CHECK (status = 'draft' OR status = 'published' OR status = 'retired'),
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES people (id),
    published_at BIGINT,
    retired_at BIGINT,
    UNIQUE (form_id, version)
);
CREATE UNIQUE INDEX form_versions_one_draft ON form_versions (form_id) WHERE status = 'draft';

CREATE TRIGGER form_versions_published_stay BEFORE UPDATE ON form_versions
WHEN OLD.status <> 'draft' AND (NEW.definition <> OLD.definition OR NEW.name <> OLD.name OR NEW.status = 'draft')
BEGIN
    SELECT RAISE(ABORT, 'a published form version never changes');
END;

CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    form_version_id BIGINT NOT NULL REFERENCES form_versions (id),
    kind TEXT NOT NULL CHECK (kind = 'evaluation' OR kind = 'self'),
    evaluator_id BIGINT NOT NULL REFERENCES people (id),
    -- The person behind the contact's agent code, when the code is linked to one.
    agent_id BIGINT REFERENCES people (id),
    agent_code TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status = 'draft' OR status = 'submitted' OR status = 'acknowledged'
        OR status = 'disputed' OR status = 'resolved'),
    score DOUBLE PRECISION,
    earned DOUBLE PRECISION NOT NULL DEFAULT 0,
    possible DOUBLE PRECISION NOT NULL DEFAULT 0,
    failed BOOLEAN NOT NULL DEFAULT FALSE,
    passed BOOLEAN,
    rq BOOLEAN,
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    UNIQUE (contact_id, evaluator_id, kind)
);
CREATE INDEX evaluations_program ON evaluations (program_id, submitted_at);
CREATE INDEX evaluations_agent ON evaluations (agent_id, submitted_at);
CREATE INDEX evaluations_evaluator ON evaluations (evaluator_id, status);
CREATE INDEX evaluations_version ON evaluations (form_version_id);

-- One row per answered criterion; percent is NULL for "n/a".
CREATE TABLE evaluation_answers (
    evaluation_id BIGINT NOT NULL REFERENCES evaluations (id),
    criterion_key TEXT NOT NULL,
    value TEXT NOT NULL,
    percent DOUBLE PRECISION,
    comment TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (evaluation_id, criterion_key)
);

-- What happened to an evaluation, in order.
CREATE TABLE evaluation_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    evaluation_id BIGINT NOT NULL REFERENCES evaluations (id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES people (id),
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX evaluation_events_evaluation ON evaluation_events (evaluation_id, id);
