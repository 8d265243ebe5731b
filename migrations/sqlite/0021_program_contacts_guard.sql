-- A contact's program was checked by a foreign key. Besides a lookup of the program for every
-- contact, the key makes SQLite keep a statement journal for any statement that writes several
-- contacts (the key could abort it half-way), which wrote ten times the pages the rows take, so
-- an import stored one contact per statement. Contacts only ever get the id of a program just
-- looked up by its code; what the key also guarded, that a program with contacts is never
-- deleted or renumbered, is kept by triggers on programs, which cost nothing per contact (as on
-- PostgreSQL).
--
-- Removing a foreign key changes nothing stored, so the table's definition is edited in place
-- (the procedure SQLite documents for such changes) instead of copying every contact into a new
-- table; RESET makes this connection read the schema again, and the CREATE TRIGGERs below change
-- the schema's version, so that every other connection reads it again too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, 'program_id BIGINT NOT NULL REFERENCES programs (id),',
    'program_id BIGINT NOT NULL,')
WHERE type = 'table' AND name = 'contacts';
PRAGMA writable_schema = RESET;

CREATE TRIGGER programs_keep_their_contacts BEFORE DELETE ON programs
WHEN EXISTS (SELECT 1 FROM contacts WHERE program_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'program has contacts');
END;

CREATE TRIGGER programs_keep_their_contacts_id BEFORE UPDATE OF id ON programs
WHEN NEW.id <> OLD.id AND EXISTS (SELECT 1 FROM contacts WHERE program_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'program has contacts');
END;
