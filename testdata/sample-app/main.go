// Command sample-app is the service the sandbox, the tests and the demo
// deploy (see pkg/sampleapp). Flags, or the environment variables named in
// their help (which is how the chart sets them), inject faults:
//
//	sample-app -listen 127.0.0.1:8080 -version v1.2.3 -colour green \
//	  -latency 50ms -error-rate 0.02 -fail-health /api/health/database -ready-after 5s
//
// On SIGTERM it stops accepting connections, finishes the requests in
// flight (for up to -shutdown-timeout), and exits 0. The chart's preStop
// sleep keeps it serving while its endpoint is taken out of the Services.
//
// With $DATABASE_URL (postgres://...) it keeps its strategies in
// PostgreSQL: /api/health/database checks the database for real, and
// /api/strategy reads the first strategy, with the signal column when
// $SCHEMA_VERSION is 2 or more (default 1). Its migrations run with:
//
//	sample-app migrate up|down|goto <version>|force <version>|version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := run
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		run = migrate
	}
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "sample-app: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sample-app", flag.ContinueOnError)
	defListen := ":8080"
	if p := os.Getenv("PORT"); p != "" {
		defListen = ":" + p
	}
	listen := fs.String("listen", envOr("LISTEN", defListen), "address to listen on ($LISTEN, else :$PORT)")
	var cfg sampleapp.Config
	fs.StringVar(&cfg.Version, "version", envOr("APP_VERSION", "dev"), "version to report ($APP_VERSION)")
	fs.StringVar(&cfg.Colour, "colour", envOr("APP_COLOUR", ""), "colour to report, blue or green ($APP_COLOUR)")
	latency := fs.String("latency", envOr("LATENCY", "0s"), "latency added to every /api request ($LATENCY)")
	errorRate := fs.String("error-rate", envOr("ERROR_RATE", "0"), "fraction (0-1) of /api requests answered 500 ($ERROR_RATE)")
	fs.StringVar(&cfg.FailHealth, "fail-health", envOr("FAIL_HEALTH", ""), "health path that always answers 503 ($FAIL_HEALTH)")
	readyAfter := fs.String("ready-after", envOr("READY_AFTER", "0s"), "health paths answer 503 until this long after start ($READY_AFTER)")
	crash := fs.Bool("crash", os.Getenv("CRASH_AT_START") == "true", "exit 1 at once, as a release that crashes at start ($CRASH_AT_START=true)")
	crashAfter := fs.String("crash-after", envOr("CRASH_AFTER", "0s"), "exit 1 this long after start, as a release that runs out of memory in production ($CRASH_AFTER; 0: never)")
	environment := fs.String("environment", envOr("APP_ENVIRONMENT", ""), "the environment the app runs in ($APP_ENVIRONMENT)")
	databaseURL := fs.String("database-url", envOr("DATABASE_URL", ""), "PostgreSQL to keep the strategies in, postgres://... ($DATABASE_URL; none: fixed answers)")
	schema := fs.Int("schema-version", atoiOr(envOr("SCHEMA_VERSION", "1"), 0), "the schema version this release reads: 2 reads the signal column migration 2 adds ($SCHEMA_VERSION)")
	faultEnv := fs.String("fault-environment", envOr("FAULT_ENVIRONMENT", ""), "inject the faults only when -environment is this one, as a defect that shows only under one environment's configuration ($FAULT_ENVIRONMENT)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 25*time.Second, "how long SIGTERM waits for requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *crash {
		return errors.New("crashing at start, as asked (-crash or CRASH_AT_START=true)")
	}
	var err error
	if cfg.Latency, err = time.ParseDuration(*latency); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if cfg.ReadyAfter, err = time.ParseDuration(*readyAfter); err != nil {
		return fmt.Errorf("ready-after: %w", err)
	}
	if cfg.ErrorRate, err = strconv.ParseFloat(*errorRate, 64); err != nil {
		return fmt.Errorf("error-rate: %w", err)
	}
	crashIn, err := time.ParseDuration(*crashAfter)
	if err != nil {
		return fmt.Errorf("crash-after: %w", err)
	}
	if *faultEnv != "" && *faultEnv != *environment {
		cfg.Latency, cfg.ErrorRate, cfg.FailHealth, cfg.ReadyAfter, crashIn = 0, 0, "", 0, 0
	}
	if crashIn > 0 {
		// Abrupt, as an out-of-memory kill is: no shutdown, requests in
		// flight are lost.
		time.AfterFunc(crashIn, func() {
			fmt.Fprintf(os.Stderr, "crashing after %s, as asked (-crash-after or CRASH_AFTER)\n", crashIn)
			os.Exit(1)
		})
	}
	if *databaseURL != "" {
		db, err := sampleapp.OpenPostgres(ctx, *databaseURL, *schema)
		if err != nil {
			return err
		}
		defer db.Close()
		cfg.Store = db
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler, err := sampleapp.NewHandler(cfg, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// The address goes to stdout so a test that asked for port 0 learns it.
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		fmt.Println("SIGTERM: no new connections; finishing the requests in flight")
		shutdown, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
		defer cancel()
		done <- srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Println("stopped")
	return nil
}

// migrate runs the app's migrations against $DATABASE_URL: args are
// "migrate" and the command (up, down, goto <version>, version).
func migrate(_ context.Context, args []string) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("migrate: $DATABASE_URL is not set")
	}
	if len(args) < 2 {
		return errors.New("migrate: want up, down, goto <version>, force <version> or version")
	}
	command := strings.Join(args[1:], " ")
	fmt.Printf("migrate %s\n", command)
	version, dirty, err := sampleapp.Migrate(url, command, func(line string) { fmt.Println(line) })
	state := "clean"
	if dirty {
		state = "dirty: the last migration failed part way"
	}
	fmt.Printf("schema version %d (%s)\n", version, state)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", command, err)
	}
	return nil
}

// atoiOr is s as a number, or def when it is none (the flag then
// reports the bad value).
func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
