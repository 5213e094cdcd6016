// Command sample-app is the service the sandbox, the tests and the demo
// deploy (see pkg/sampleapp). Flags inject faults:
//
//	sample-app -listen 127.0.0.1:8080 -version v1.2.3 -colour green \
//	  -latency 50ms -error-rate 0.02 -fail-health /api/health/database -ready-after 5s
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
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fxplatform/deploy-actions/pkg/sampleapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "sample-app: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sample-app", flag.ContinueOnError)
	listen := fs.String("listen", envOr("LISTEN", ":8080"), "address to listen on ($LISTEN)")
	var cfg sampleapp.Config
	fs.StringVar(&cfg.Version, "version", envOr("APP_VERSION", "dev"), "version to report ($APP_VERSION)")
	fs.StringVar(&cfg.Colour, "colour", envOr("APP_COLOUR", ""), "colour to report, blue or green ($APP_COLOUR)")
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every /api request")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", 0, "fraction (0-1) of /api requests answered 500")
	fs.StringVar(&cfg.FailHealth, "fail-health", "", "health path that always answers 503")
	fs.DurationVar(&cfg.ReadyAfter, "ready-after", 0, "health paths answer 503 until this long after start")
	if err := fs.Parse(args); err != nil {
		return err
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
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
