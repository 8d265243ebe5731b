-- Coaching sessions with an agent, linked to evaluations, with agreed actions; and in-app
-- notifications (docs/quality.md).
CREATE TABLE coaching_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    agent_id BIGINT NOT NULL REFERENCES people (id),
    coach_id BIGINT NOT NULL REFERENCES people (id),
    held_at BIGINT NOT NULL,
    strengths TEXT NOT NULL DEFAULT '',
    improvements TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    acknowledged_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX coaching_sessions_agent ON coaching_sessions (agent_id, held_at);
CREATE INDEX coaching_sessions_coach ON coaching_sessions (coach_id, held_at);

CREATE TABLE coaching_evaluations (
    session_id BIGINT NOT NULL REFERENCES coaching_sessions (id),
    evaluation_id BIGINT NOT NULL REFERENCES evaluations (id),
    PRIMARY KEY (session_id, evaluation_id)
);

-- due_day: the local day number (days since 1970-01-01) the action is due on.
CREATE TABLE coaching_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id BIGINT NOT NULL REFERENCES coaching_sessions (id),
    description TEXT NOT NULL,
    due_day BIGINT NOT NULL,
    done_at BIGINT,
    follow_up TEXT NOT NULL DEFAULT ''
);
CREATE INDEX coaching_actions_session ON coaching_actions (session_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES people (id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_person ON notifications (person_id, read_at, at);
