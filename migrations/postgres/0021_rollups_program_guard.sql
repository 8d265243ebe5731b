-- A rollup row's program was checked by a foreign key: for every rollup row an import inserts,
-- a query for the program and a lock on its row, a quarter of the time the rollups' statement
-- took. Rollup rows only ever get the id of a program just looked up; that a program with
-- rollups is never deleted or renumbered is kept by the trigger that keeps its contacts, which
-- now looks at its rollups too.
ALTER TABLE contact_rollups DROP CONSTRAINT contact_rollups_program_id_fkey;

CREATE OR REPLACE FUNCTION programs_keep_their_contacts() RETURNS trigger AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id)
        AND (EXISTS (SELECT 1 FROM contacts WHERE program_id = OLD.id)
            OR EXISTS (SELECT 1 FROM contact_rollups WHERE program_id = OLD.id)) THEN
        RAISE EXCEPTION 'program % has contacts or contact rollups', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

-- An import adds to the rollup rows of the days, weeks and months it touches again and again;
-- with room left on each page the new version of a row goes on the same page and the primary
-- key is left as it is (a heap-only update), where a full page made every update a new key entry.
ALTER TABLE contact_rollups SET (fillfactor = 70);
