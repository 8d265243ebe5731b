-- Rollups in two sides and four grains, so that a year of any report reads a few thousand
-- rows: per queue by quarter hour (UTC start, ms) and by local day, week and month; per agent
-- by local day, week and month (periods as the day number of their first day, days since
-- 1970-01-01). Rebuilt from the contacts at start-up.

DROP TABLE contact_rollups;

CREATE TABLE contact_rollups (
    program_id BIGINT NOT NULL REFERENCES programs (id),
    side TEXT NOT NULL CHECK (side IN ('queue', 'agent')),
    grain TEXT NOT NULL CHECK (grain IN ('interval', 'day', 'week', 'month')),
    period BIGINT NOT NULL,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
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
    PRIMARY KEY (program_id, side, grain, period, channel, name)
);
