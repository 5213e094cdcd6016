//go:build integration

package sampleapp

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

func TestMain(m *testing.M) { sandbox.Main(m) }

// columns are the strategies table's columns, in order.
func columns(t *testing.T, url string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var cols []string
	rows, err := conn.Query(context.Background(), "SELECT column_name FROM information_schema.columns WHERE table_name = 'strategies' ORDER BY ordinal_position")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	return strings.Join(cols, ",")
}

// The migrations in a real PostgreSQL: the expand adds the column the
// schema-2 release reads and the schema-1 release ignores; the failing one
// leaves the schema as it was and does not block the next command; down
// migrations restore the earlier schema, on which schema 1 still reads.
func TestMigrationsAndStore(t *testing.T) {
	db := sandbox.TestDatabase(t)
	ctx := context.Background()
	migrateTo := func(command string) (uint, error) {
		t.Helper()
		v, dirty, err := Migrate(db.URL, command, func(s string) { t.Log(s) })
		if dirty && err == nil {
			t.Errorf("%s: dirty at %d with no error", command, v)
		}
		return v, err
	}
	if v, err := migrateTo("goto 1"); err != nil || v != SchemaStrategies || columns(t, db.URL) != "id,name,pair" {
		t.Fatalf("goto 1: version %d, %v, columns %s", v, err, columns(t, db.URL))
	}
	v1, err := OpenPostgres(ctx, db.URL, SchemaStrategies)
	if err != nil {
		t.Fatal(err)
	}
	defer v1.Close()
	v2, err := OpenPostgres(ctx, db.URL, SchemaSignal)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if err := v1.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := v1.FirstStrategy(ctx); err != nil || s != (Strategy{"mean-reversion", "EURUSD", "hold"}) {
		t.Errorf("schema 1 on schema 1: %+v, %v", s, err)
	}
	if _, err := v2.FirstStrategy(ctx); err == nil {
		t.Error("schema 2 read a schema without its column")
	}

	if v, err := migrateTo("goto 2"); err != nil || v != SchemaSignal || columns(t, db.URL) != "id,name,pair,signal" {
		t.Fatalf("goto 2: version %d, %v, columns %s", v, err, columns(t, db.URL))
	}
	for name, store := range map[string]*Postgres{"schema 1": v1, "schema 2": v2} {
		if s, err := store.FirstStrategy(ctx); err != nil || s.Signal != "hold" {
			t.Errorf("%s on schema 2: %+v, %v", name, s, err)
		}
	}

	v, err := migrateTo("up")
	if err == nil || !strings.Contains(err.Error(), "strategies_pair") || v != SchemaSignal {
		t.Errorf("up: version %d, %v; want migration 3 to fail on the duplicate pair, the schema left at 2", v, err)
	}
	if cols := columns(t, db.URL); cols != "id,name,pair,signal" {
		t.Errorf("the failed migration changed the columns: %s", cols)
	}
	if s, err := v2.FirstStrategy(ctx); err != nil {
		t.Errorf("schema 2 after the failed migration: %+v, %v", s, err)
	}

	// A down step that fails (a view depends on the column) leaves the
	// schema, and the version, where it was.
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE VIEW signals AS SELECT signal FROM strategies")
	if v, err := migrateTo("goto 1"); err == nil || v != SchemaSignal || columns(t, db.URL) != "id,name,pair,signal" {
		t.Errorf("a failing down step: version %d, %v, columns %s; want it failed at 2 with the column kept", v, err, columns(t, db.URL))
	}
	exec("DROP VIEW signals")

	// A run that did not finish leaves a dirty mark that says nothing of
	// where the schema is: the next run refuses until force says.
	exec("UPDATE schema_migrations SET dirty = true")
	if _, err := migrateTo("goto 1"); err == nil || !strings.Contains(err.Error(), "force") {
		t.Errorf("a run on a dirty mark: %v; want it refused, naming force", err)
	}
	if v, err := migrateTo("force 2"); err != nil || v != SchemaSignal {
		t.Errorf("force 2: version %d, %v", v, err)
	}

	if v, err := migrateTo("goto 1"); err != nil || v != SchemaStrategies || columns(t, db.URL) != "id,name,pair" {
		t.Fatalf("down to 1 after the failure: version %d, %v, columns %s", v, err, columns(t, db.URL))
	}
	if s, err := v1.FirstStrategy(ctx); err != nil || s.Name != "mean-reversion" {
		t.Errorf("schema 1 after the down migration: %+v, %v", s, err)
	}
	// The first migration's down step, failing (a view depends on the
	// table), is marked at "no version", which golang-migrate reports as
	// clean: the run still puts the version back at 1.
	exec("CREATE VIEW strategy_names AS SELECT name FROM strategies")
	if v, err := migrateTo("down"); err == nil || v != SchemaStrategies {
		t.Errorf("a failing first down step: version %d, %v; want it failed at 1", v, err)
	}
	exec("DROP VIEW strategy_names")
	if v, err := migrateTo("down"); err != nil || v != 0 || columns(t, db.URL) != "" {
		t.Errorf("down after it: version %d, %v, columns %q", v, err, columns(t, db.URL))
	}
	if v, err := migrateTo("force -1"); err != nil || v != 0 {
		t.Errorf("force -1: version %d, %v", v, err)
	}
	if _, _, err := Migrate(db.URL, "sideways", nil); err == nil {
		t.Error("an unknown command was taken")
	}
	if _, _, err := Migrate(strings.Replace(db.URL, db.Password, "wrong", 1), "version", nil); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("a wrong password: %v; want an error without the password", err)
	}
}
