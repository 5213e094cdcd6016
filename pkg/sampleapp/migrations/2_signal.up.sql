-- Expand: a column with a default, which the schema-1 app ignores and the
-- schema-2 app reads, so both colours work on this schema.
ALTER TABLE strategies ADD COLUMN signal text NOT NULL DEFAULT 'hold';
