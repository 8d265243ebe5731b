-- Whether the program's client viewers may see quality per agent and team (docs/quality.md);
-- by default they see the program's quality as a whole.
ALTER TABLE programs ADD COLUMN client_agent_detail BOOLEAN NOT NULL DEFAULT FALSE;
