-- Calibration sessions: participants score the same contacts blind on one form version; the
-- facilitator reveals the scores and records the reference answers agreed (docs/calibration.md).
-- Calibration scores live here only and never count toward anyone's quality figures.
CREATE TABLE calibration_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    title TEXT NOT NULL,
    -- Local day numbers (days since 1970-01-01) in the program's time zone.
    held_on BIGINT NOT NULL,
    due_day BIGINT NOT NULL,
    facilitator_id BIGINT NOT NULL REFERENCES people (id),
    form_version_id BIGINT NOT NULL REFERENCES form_versions (id),
    -- Criterion keys to discuss first, comma-separated; empty: all.
    focus TEXT NOT NULL DEFAULT '',
    -- Scores stay hidden until the facilitator reveals them (else: from one's own submission).
    reveal_required BOOLEAN NOT NULL DEFAULT TRUE,
    revealed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX calibration_sessions_program ON calibration_sessions (program_id, held_on);

CREATE TABLE calibration_participants (
    session_id BIGINT NOT NULL REFERENCES calibration_sessions (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    role TEXT NOT NULL CHECK (role = 'evaluator' OR role = 'team_lead' OR role = 'agent' OR role = 'reference'),
    PRIMARY KEY (session_id, person_id)
);
CREATE INDEX calibration_participants_person ON calibration_participants (person_id);

CREATE TABLE calibration_contacts (
    session_id BIGINT NOT NULL REFERENCES calibration_sessions (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (session_id, contact_id)
);

-- One participant's answers to one contact (JSON, as an evaluation's), draft until submitted.
CREATE TABLE calibration_scores (
    session_id BIGINT NOT NULL REFERENCES calibration_sessions (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    answers TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    submitted_at BIGINT,
    PRIMARY KEY (session_id, contact_id, person_id)
);

-- The answer agreed in the session for a contact's criterion, with the reasoning.
CREATE TABLE calibration_references (
    session_id BIGINT NOT NULL REFERENCES calibration_sessions (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    criterion_key TEXT NOT NULL,
    value TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    agreed_by BIGINT NOT NULL REFERENCES people (id),
    agreed_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, contact_id, criterion_key)
);

-- The gate: an evaluator whose answers matched the reference less often than this share in their
-- last session sees a warning on their evaluations, and the facilitator is told (once).
CREATE TABLE calibration_gates (
    program_id BIGINT PRIMARY KEY REFERENCES programs (id),
    min_exact DOUBLE PRECISION NOT NULL CHECK (min_exact > 0 AND min_exact <= 1),
    updated_at BIGINT NOT NULL
);

CREATE TABLE calibration_gate_notices (
    session_id BIGINT NOT NULL REFERENCES calibration_sessions (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (session_id, person_id)
);
