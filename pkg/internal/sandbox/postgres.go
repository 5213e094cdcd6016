package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// The sandbox's PostgreSQL: Debian's, run as its own cluster (initdb into
// a directory of the sandbox's, then the postmaster), listening on the
// loopback address for the tests and the demo, and on the real node's
// address for its pods. Tests get a database and a role each
// (CreateDatabase).

// postgresPackage is the Debian package of the server; its binaries are in
// /usr/lib/postgresql/<major>/bin, off PATH.
const postgresPackage = "postgresql"

// postgresSuperuser is the cluster's superuser, whose password the state
// keeps.
const postgresSuperuser = "sandbox"

// findPostgres returns the bin directory of the newest PostgreSQL
// installed, installing the Debian package when there is none.
func findPostgres(ctx context.Context, install Installer) (string, error) {
	if dir := newestPostgres(); dir != "" {
		return dir, nil
	}
	var installErr error
	if install != nil {
		installErr = install(ctx, []string{postgresPackage})
	}
	if dir := newestPostgres(); dir != "" {
		return dir, nil
	}
	return "", &MissingPackageError{Binary: "postgres", Package: postgresPackage, InstallErr: installErr}
}

func newestPostgres() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	major := func(path string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
		return n
	}
	slices.SortFunc(found, func(a, b string) int { return major(a) - major(b) })
	for i := len(found) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(filepath.Dir(found[i]), "initdb")); err == nil {
			return filepath.Dir(found[i])
		}
	}
	return ""
}

// postgresServer is where the cluster lives and who runs it.
type postgresServer struct {
	// dir holds the data directory (data), the socket and the password
	// file. PostgreSQL refuses to run as root, so when the sandbox runs as
	// root the server runs as Debian's postgres user, which cannot enter
	// a state directory under /root: dir is then under /var/tmp, named
	// after the state directory.
	dir  string
	cred *syscall.Credential // nil: the sandbox's own user
}

func newPostgresServer(stateDir string) (postgresServer, error) {
	if os.Geteuid() != 0 {
		return postgresServer{dir: filepath.Join(stateDir, "postgres")}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return postgresServer{}, fmt.Errorf("PostgreSQL runs as the postgres user, which the Debian package makes: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return postgresServer{dir: postgresRootDir(stateDir), cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

// postgresRootDir is the directory of a root sandbox's cluster.
func postgresRootDir(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join("/var/tmp", "deploy-actions-postgres-"+hex.EncodeToString(sum[:6]))
}

func (p postgresServer) dataDir() string { return filepath.Join(p.dir, "data") }

// initCluster makes a fresh cluster whose superuser has password: the
// loopback addresses and the pod network (podNet, "" for none) may log in
// with a password (SCRAM), nothing else.
func (p postgresServer) initCluster(ctx context.Context, binDir, password, podNet string) error {
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("removing an earlier PostgreSQL cluster: %w", err)
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	if p.cred != nil {
		for _, path := range []string{p.dir, pwfile} {
			if err := os.Chown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
				return err
			}
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", p.dataDir(), "-U", postgresSuperuser, "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.Env = append(processEnv(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := os.Remove(pwfile); err != nil {
		return err
	}
	if podNet == "" {
		return nil
	}
	hba, err := os.OpenFile(filepath.Join(p.dataDir(), "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(hba, "# The real node's pods.\nhost all all %s scram-sha-256\n", podNet)
	return errors.Join(err, hba.Close())
}

// args are the postmaster's: listening on addrs at port, its socket in
// p.dir, durability traded for speed (a test database is thrown away),
// and the state directory in a setting of its own, so that the sandbox
// tells its postmaster from a recycled pid.
func (p postgresServer) args(stateDir string, addrs []string, port int) []string {
	return []string{
		"-D", p.dataDir(), "-p", strconv.Itoa(port),
		"-c", "listen_addresses=" + strings.Join(addrs, ","),
		"-c", "unix_socket_directories=" + p.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "deploy_actions.sandbox=" + stateDir,
	}
}

// postgresURL is a connection URL of user to database at host:port.
func postgresURL(user, password, host string, port int, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/" + database,
		RawQuery: "sslmode=disable"}
	return u.String()
}

// postgresReady connects and pings.
func postgresReady(connURL string) func(context.Context) error {
	return func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, connURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(ctx)
	}
}

// sqlName is a database and role name CreateDatabase takes: used in SQL
// as it is, so no quoting is needed.
var sqlName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Database is a database of the sandbox's PostgreSQL, owned by a role of
// the same name.
type Database struct {
	Name, User, Password string
	// URL reaches it from this machine (tests, the demo); PodURL from the
	// real node's pods.
	URL, PodURL string
}

// CreateDatabase makes a database and its owner role, both named name (a
// lower-case SQL identifier), with a random password.
func (s *Sandbox) CreateDatabase(ctx context.Context, name string) (Database, error) {
	if s.Postgres == nil {
		return Database{}, errors.New("this sandbox runs no PostgreSQL")
	}
	if !sqlName.MatchString(name) {
		return Database{}, fmt.Errorf("database name %q: use lower-case letters, digits and '_', a letter first, at most 63", name)
	}
	conn, err := pgx.Connect(ctx, s.Postgres.URL)
	if err != nil {
		return Database{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pw := make([]byte, 16)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	// Quoted, so a reserved word is a name too; the password is hex.
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", id, password)); err != nil {
		return Database{}, fmt.Errorf("creating role %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", id, id)); err != nil {
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+id)
		return Database{}, fmt.Errorf("creating database %s: %w", name, err)
	}
	db := Database{Name: name, User: name, Password: password,
		URL: postgresURL(name, password, "127.0.0.1", s.Postgres.Port, name)}
	if s.Postgres.PodHost != "" {
		db.PodURL = postgresURL(name, password, s.Postgres.PodHost, s.Postgres.Port, name)
	}
	return db, nil
}

// DropDatabase removes a database CreateDatabase made, and its role,
// ending its connections first.
func (s *Sandbox) DropDatabase(ctx context.Context, name string) error {
	if s.Postgres == nil || !sqlName.MatchString(name) {
		return fmt.Errorf("no database %q to drop", name)
	}
	conn, err := pgx.Connect(ctx, s.Postgres.URL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	id := pgx.Identifier{name}.Sanitize()
	for _, stmt := range []string{
		fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", id),
		fmt.Sprintf("DROP ROLE IF EXISTS %s", id),
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("dropping database %s: %w", name, err)
		}
	}
	return nil
}

// Postgres is the sandbox's PostgreSQL as its state records it.
type Postgres struct {
	// URL is the superuser's connection to database postgres, on the
	// loopback address.
	URL  string `json:"url"`
	Port int    `json:"port"`
	// PodHost is the address pods reach it at: the real node's.
	PodHost string `json:"podHost,omitempty"`
	// Dir is the cluster's directory, removed by Down.
	Dir string `json:"dir"`
}

// startPostgres makes the cluster and starts the postmaster, on the
// loopback address and, with the real node, on the node's address for the
// pods.
func startPostgres(ctx context.Context, s *Sandbox, cfg Config, port int, run func(procSpec) (*process, error)) error {
	binDir, err := findPostgres(ctx, cfg.Install)
	if err != nil {
		return err
	}
	srv, err := newPostgresServer(cfg.Dir)
	if err != nil {
		return err
	}
	pw := make([]byte, 16)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	addrs, podNet, podHost := []string{"127.0.0.1"}, "", ""
	if s.Node != nil {
		addrs, podNet, podHost = append(addrs, nodeIP), podCIDR, nodeIP
	}
	// Recorded first, so that Down removes the directory whatever comes.
	s.Postgres = &Postgres{URL: postgresURL(postgresSuperuser, password, "127.0.0.1", port, "postgres"), Port: port, PodHost: podHost, Dir: srv.dir}
	if err := srv.initCluster(ctx, binDir, password, podNet); err != nil {
		return err
	}
	p, err := run(procSpec{name: "postgres", path: filepath.Join(binDir, "postgres"), args: srv.args(cfg.Dir, addrs, port), cred: srv.cred})
	if err != nil {
		return err
	}
	return waitReady(ctx, p, componentTimeout, postgresReady(s.Postgres.URL))
}
