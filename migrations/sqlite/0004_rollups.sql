-- Rollups: additive KPI totals per program × 15-minute interval (UTC start, ms) × channel × queue
-- × agent, kept up to date by every import, so dashboards never scan raw contacts.
-- contacts.fcr_repeat: the customer came back within the FCR window (NULL: no customer reference).

ALTER TABLE contacts ADD COLUMN fcr_repeat BOOLEAN;

CREATE TABLE contact_rollups (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    bucket BIGINT NOT NULL,
    channel TEXT NOT NULL,
    queue TEXT NOT NULL,
    agent TEXT NOT NULL,
    handled BIGINT NOT NULL,
    transferred BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    short_abandoned BIGINT NOT NULL,
    bot_resolved BIGINT NOT NULL,
    answered_within_t BIGINT NOT NULL,
    abandoned_within_t BIGINT NOT NULL,
    wait_answered_s BIGINT NOT NULL,
    longest_wait_s BIGINT NOT NULL,
    talk_s BIGINT NOT NULL,
    hold_s BIGINT NOT NULL,
    acw_s BIGINT NOT NULL,
    responded BIGINT NOT NULL,
    responded_within_sla BIGINT NOT NULL,
    first_response_s_sum BIGINT NOT NULL,
    fcr_contacts BIGINT NOT NULL,
    fcr_resolved BIGINT NOT NULL,
    surveys BIGINT NOT NULL,
    csat_answers BIGINT NOT NULL,
    csat_top2 BIGINT NOT NULL,
    csat_sum BIGINT NOT NULL,
    nps_answers BIGINT NOT NULL,
    promoters BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    rq_answers BIGINT NOT NULL,
    rq_yes BIGINT NOT NULL,
    PRIMARY KEY (program_id, bucket, channel, queue, agent)
);
