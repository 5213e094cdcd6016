-- The strategies the app serves, the first of them at /api/strategy. One
-- query of several statements: PostgreSQL runs it as one transaction.
CREATE TABLE strategies (
    id   serial PRIMARY KEY,
    name text NOT NULL,
    pair text NOT NULL
);
INSERT INTO strategies (name, pair) VALUES ('mean-reversion', 'EURUSD'), ('momentum', 'EURUSD'), ('carry', 'AUDJPY');
