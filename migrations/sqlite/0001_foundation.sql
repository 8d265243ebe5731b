-- Foundation: organisation, programs, teams, people, grants, sessions, tokens, sign-in attempts, audit log.
-- Times are milliseconds since the Unix epoch (UTC), as on PostgreSQL.

CREATE TABLE organisation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id BIGINT NOT NULL REFERENCES programs (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE people (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    locale TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES people (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'evaluator', 'team_lead', 'planner', 'client_viewer', 'agent')),
    program_id BIGINT REFERENCES programs (id),
    team_id BIGINT REFERENCES teams (id),
    created_at BIGINT NOT NULL,
    CHECK (
        (role = 'admin' AND program_id IS NULL AND team_id IS NULL)
        OR (role IN ('evaluator', 'planner', 'client_viewer') AND program_id IS NOT NULL AND team_id IS NULL)
        OR (role IN ('team_lead', 'agent') AND team_id IS NOT NULL AND program_id IS NULL)
    )
);
CREATE UNIQUE INDEX grants_unique ON grants (person_id, role, COALESCE(program_id, 0), COALESCE(team_id, 0));
CREATE INDEX grants_program ON grants (program_id);
CREATE INDEX grants_team ON grants (team_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES people (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    success BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT,
    object_id TEXT,
    program_id BIGINT,
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
