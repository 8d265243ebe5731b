-- A customer's contacts are found week by week (604800000 ms = 7 days, counted from 1970): an
-- import of contacts in time order then adds to the index's current weeks only, instead of
-- touching pages all over an index that grows with every customer ever seen.
DROP INDEX contacts_program_customer;
CREATE INDEX contacts_program_week_customer
    ON contacts (program_id, (arrived_at / 604800000), customer_ref, arrived_at);
