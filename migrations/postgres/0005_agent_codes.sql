-- How a program's contact records name an agent (login, extension, e-mail), linked to the person,
-- so agents see their own figures and contacts and team leads their team's.
CREATE TABLE agent_codes (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    code TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (program_id, code)
);
CREATE INDEX agent_codes_person ON agent_codes (person_id);
