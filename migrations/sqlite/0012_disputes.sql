-- The evaluation workflow after submission: the agent acknowledges or disputes, per criterion,
-- and a lead or QA resolves the dispute (docs/quality.md).
ALTER TABLE evaluations ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE evaluations ADD COLUMN disputed_at BIGINT;
ALTER TABLE evaluations ADD COLUMN resolved_at BIGINT;
ALTER TABLE evaluations ADD COLUMN resolution TEXT
    CHECK (resolution IS NULL OR resolution = 'upheld' OR resolution = 'partly_upheld' OR resolution = 'rejected');
ALTER TABLE evaluations ADD COLUMN resolution_note TEXT NOT NULL DEFAULT '';

-- One row per disputed criterion: the answer given, the reason, the answer proposed, and the outcome.
CREATE TABLE evaluation_disputes (
    evaluation_id BIGINT NOT NULL REFERENCES evaluations (id),
    criterion_key TEXT NOT NULL,
    original_value TEXT NOT NULL,
    proposed_value TEXT NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT CHECK (outcome IS NULL OR outcome = 'upheld' OR outcome = 'rejected'),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (evaluation_id, criterion_key)
);
CREATE INDEX evaluations_open_disputes ON evaluations (program_id, status, disputed_at);
