-- Safe once no running version reads the column (the schema-1 app does not).
ALTER TABLE strategies DROP COLUMN IF EXISTS signal;
