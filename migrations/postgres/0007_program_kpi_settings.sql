-- A program's KPI settings (docs/kpis.md): service-level threshold T, short-abandon limit S,
-- service-level target and formula variant, first-response SLA, FCR window.
ALTER TABLE programs ADD COLUMN answer_within_s BIGINT NOT NULL DEFAULT 20
    CHECK (answer_within_s BETWEEN 1 AND 3600);
ALTER TABLE programs ADD COLUMN short_abandon_s BIGINT NOT NULL DEFAULT 5
    CHECK (short_abandon_s BETWEEN 0 AND 600);
ALTER TABLE programs ADD COLUMN sl_target DOUBLE PRECISION NOT NULL DEFAULT 0.8
    CHECK (sl_target >= 0 AND sl_target <= 1);
ALTER TABLE programs ADD COLUMN sl_variant TEXT NOT NULL DEFAULT 'over_offered'
    CHECK (sl_variant IN ('over_offered', 'over_answered', 'ignore_early_abandons'));
ALTER TABLE programs ADD COLUMN response_sla_s BIGINT NOT NULL DEFAULT 86400
    CHECK (response_sla_s BETWEEN 60 AND 2592000);
ALTER TABLE programs ADD COLUMN fcr_days BIGINT NOT NULL DEFAULT 7
    CHECK (fcr_days BETWEEN 1 AND 90);
