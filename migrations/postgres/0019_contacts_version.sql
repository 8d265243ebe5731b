-- Counts the changes to a program's contacts. An import holds a program's recent contacts in
-- memory between its batches and reads them again when someone else changed them meanwhile
-- (src/contacts/recent.rs).
ALTER TABLE programs ADD COLUMN contacts_version BIGINT NOT NULL DEFAULT 0;
