-- One strategy per pair: it cannot apply to the seeded data (two EURUSD
-- strategies), as a migration that meets production's data can fail. A
-- single statement: it fails whole, leaving the schema as it was.
CREATE UNIQUE INDEX strategies_pair ON strategies (pair);
