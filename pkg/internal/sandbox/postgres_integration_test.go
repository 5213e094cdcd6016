//go:build integration

package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The sandbox's PostgreSQL: a test's database is its own, its role logs in
// with its password and no other, and it is gone when the test ends.
func TestPostgresDatabases(t *testing.T) {
	s := Get(t)
	if s.Postgres == nil {
		t.Fatal("the sandbox runs no PostgreSQL")
	}
	ctx := context.Background()
	var name string
	t.Run("a database of its own", func(t *testing.T) {
		db := TestDatabase(t)
		name = db.Name
		conn, err := pgx.Connect(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var user, database string
		if err := conn.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &database); err != nil || user != db.User || database != db.Name {
			t.Errorf("connected as %s to %s (%v), want %s to %s", user, database, err, db.User, db.Name)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE trades (id serial PRIMARY KEY, pair text NOT NULL)"); err != nil {
			t.Errorf("the owner cannot create a table: %v", err)
		}
		if s.Node != nil && !strings.Contains(db.PodURL, "@"+s.Postgres.PodHost+":") {
			t.Errorf("the pods' URL %s is not on the node's address %s", db.PodURL, s.Postgres.PodHost)
		}
		wrong := strings.Replace(db.URL, db.Password, "not-the-password", 1)
		if conn, err := pgx.Connect(ctx, wrong); err == nil {
			conn.Close(ctx)
			t.Error("a wrong password logged in")
		}
	})
	conn, err := pgx.Connect(ctx, s.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s: %d left after its test (%v)", name, n, err)
	}
	if _, err := s.CreateDatabase(ctx, "Robert'); DROP TABLE students;--"); err == nil {
		t.Error("CreateDatabase took a name that is not an identifier")
	}
}
