DROP INDEX IF EXISTS strategies_pair;
