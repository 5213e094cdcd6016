package sampleapp

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the app's schema, in golang-migrate's files
// (<version>_<name>.up.sql and .down.sql): 1 makes the strategies table,
// 2 adds its signal column (an expand: both schemas' apps work on it), 3
// is a migration that fails on the seeded data, as one can in production.
//
//go:embed migrations/*.sql
var migrations embed.FS

// The schema versions of the migrations.
const (
	SchemaStrategies = 1
	SchemaSignal     = 2
	SchemaUniquePair = 3
)

// Strategy is one row of the strategies table.
type Strategy struct {
	Name, Pair, Signal string
}

// Store is the app's database.
type Store interface {
	Ping(ctx context.Context) error
	// FirstStrategy reads the first strategy, with its signal when the
	// app's schema has one.
	FirstStrategy(ctx context.Context) (Strategy, error)
}

// Postgres is a Store in PostgreSQL for an app of schema version schema:
// an app of schema 1 does not read the signal column, which schema 2
// adds.
type Postgres struct {
	pool   *pgxpool.Pool
	schema int
}

// OpenPostgres connects lazily (the pool dials when first used, so the app
// starts, and reports its database unhealthy, while the database is away).
func OpenPostgres(ctx context.Context, databaseURL string, schema int) (*Postgres, error) {
	if schema < SchemaStrategies {
		return nil, fmt.Errorf("schema %d: want %d or more", schema, SchemaStrategies)
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", redact(err, databaseURL))
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Postgres{pool: pool, schema: schema}, nil
}

// Close closes the pool.
func (p *Postgres) Close() { p.pool.Close() }

// Ping runs a query.
func (p *Postgres) Ping(ctx context.Context) error {
	var one int
	return p.pool.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// FirstStrategy implements Store.
func (p *Postgres) FirstStrategy(ctx context.Context) (Strategy, error) {
	var s Strategy
	if p.schema >= SchemaSignal {
		err := p.pool.QueryRow(ctx, "SELECT name, pair, signal FROM strategies ORDER BY id LIMIT 1").Scan(&s.Name, &s.Pair, &s.Signal)
		return s, err
	}
	err := p.pool.QueryRow(ctx, "SELECT name, pair FROM strategies ORDER BY id LIMIT 1").Scan(&s.Name, &s.Pair)
	s.Signal = "hold"
	return s, err
}

// Migrate moves the schema of the database at databaseURL: "up" applies
// every migration, "down" reverts them all, "goto N" moves up or down to
// version N, "force N" records N as the version without running anything
// (after a run that did not finish), "version" only reports. It returns the version reached and
// whether a failed migration left it dirty (golang-migrate's marker: the
// migration did not finish, and `force` must say where the schema is).
func Migrate(databaseURL string, command string, log func(string)) (version uint, dirty bool, err error) {
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return 0, false, err
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return 0, false, fmt.Errorf("database URL: want postgres://user:password@host:port/database")
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return 0, false, fmt.Errorf("opening the database: %w", redact(err, databaseURL))
	}
	defer m.Close()
	if log != nil {
		m.Log = logger(log)
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(command), " ")
	before, dirty, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
		before, dirty, err = 0, false, nil
	case err != nil:
		return 0, false, err
	}
	if dirty && verb != "version" && verb != "force" {
		// A run that did not finish (killed at its deadline): which way it
		// went, and so where the schema is, cannot be known from here.
		return before, true, fmt.Errorf("the schema is marked dirty at version %d by a run that did not finish: check it, then run `migrate force <the version it is at>`", before)
	}
	switch verb {
	case "up":
		err = m.Up()
	case "down":
		err = m.Down()
	case "goto":
		n, perr := strconv.ParseUint(strings.TrimSpace(arg), 10, 32)
		if perr != nil {
			return 0, false, fmt.Errorf("goto %q: want a version number", arg)
		}
		err = m.Migrate(uint(n))
	case "force":
		// -1 is golang-migrate's "no migration applied".
		n, perr := strconv.ParseInt(strings.TrimSpace(arg), 10, 32)
		if perr != nil || n < -1 {
			return 0, false, fmt.Errorf("force %q: want a version number, or -1 for none", arg)
		}
		err = m.Force(int(n))
	case "version":
	default:
		return 0, false, fmt.Errorf("unknown migrate command %q: want up, down, goto <version>, force <version> or version", command)
	}
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	if err != nil {
		if rerr := recoverFailed(m, src, before, log); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	v, d, verr := m.Version()
	if errors.Is(verr, migrate.ErrNilVersion) {
		v, d, verr = 0, false, nil
	}
	return v, d, errors.Join(err, verr)
}

// recoverFailed undoes golang-migrate's dirty mark of a step of this run
// that failed. Each of the app's migrations is one transaction (a query of
// several statements is one in PostgreSQL), so the failed step left
// nothing, and the schema is where the step started: golang-migrate marks
// an up step dirty at its own version (the schema is at the one before
// it), a down step at the version it goes to (the schema is at the one
// after it). before is the version the run started at, which says the way
// it went.
func recoverFailed(m *migrate.Migrate, src source.Driver, before uint, log func(string)) error {
	v, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		// golang-migrate marks the down step of the first migration dirty
		// at "no version", which Version reports as clean: after a failure
		// in a run that started with a migration applied, that is the step
		// that failed, and the schema is at the first version.
		if before == 0 {
			return nil
		}
		first, err := src.First()
		if err != nil {
			return err
		}
		if log != nil {
			log(fmt.Sprintf("the down step of migration %d failed and, being one transaction, left nothing: the schema is at %d", first, first))
		}
		return m.Force(int(first))
	}
	if err == nil && !dirty {
		return nil
	}
	if err != nil {
		return err
	}
	at := -1 // no migration applied
	if v > before {
		if p, err := src.Prev(v); err == nil {
			at = int(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		n, err := src.Next(v)
		if err != nil {
			return err
		}
		at = int(n)
	}
	if log != nil {
		log(fmt.Sprintf("the step marked dirty at %d failed and, being one transaction, left nothing: the schema is at %d", v, max(at, 0)))
	}
	return m.Force(at)
}

type logger func(string)

func (l logger) Printf(format string, v ...any) { l(strings.TrimSpace(fmt.Sprintf(format, v...))) }
func (l logger) Verbose() bool                  { return false }

// redact takes the password of databaseURL out of err's text.
func redact(err error, databaseURL string) error {
	u, perr := url.Parse(databaseURL)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}
