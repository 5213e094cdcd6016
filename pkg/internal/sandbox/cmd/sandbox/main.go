// Command sandbox starts, stops and describes the project's sandbox: a
// registry, a Kubernetes control plane with kwok, and Prometheus on
// 127.0.0.1. scripts/sandbox builds and runs it.
//
//	sandbox up|down|status|env [--dir DIR] [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

func main() {
	sandbox.RunAgentIfAsked()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
	}
	os.Exit(code)
}

const usage = `usage: scripts/sandbox up|down|status|env|database [flags]

  up      start the sandbox (or reuse the running one) and print its environment
  down    stop every sandbox process and remove the state directory
  status  show each process; exit 0 if up, 3 if not started, 1 if broken
  env     print KUBECONFIG=, REGISTRY=, PROMETHEUS_URL=, SANDBOX_DIR= lines
  kubectl-path  print the path of kubectl (built from source if not installed)
  database NAME  make (anew) the PostgreSQL database and role NAME; print URL= (this machine)
                 and POD_URL= (the real node's pods)

The state directory is --dir, else $SANDBOX_DIR, else ~/.cache/deploy-actions/sandbox/state.
Use the environment with:  eval "$(scripts/sandbox env | sed 's/^/export /')"
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		return 2, nil
	}
	verb := args[0]
	fs := flag.NewFlagSet("sandbox "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := sandbox.Config{Detach: true, Progress: stderr}
	fs.StringVar(&cfg.Dir, "dir", os.Getenv("SANDBOX_DIR"), "state directory")
	fs.IntVar(&cfg.RegistryPort, "registry-port", 0, "registry port (0: a free one)")
	fs.IntVar(&cfg.APIServerPort, "apiserver-port", 0, "kube-apiserver port (0: a free one)")
	fs.IntVar(&cfg.PrometheusPort, "prometheus-port", 0, "prometheus port (0: a free one)")
	fs.StringVar(&cfg.RegistryUser, "registry-user", "", "turn on registry basic auth with this user")
	fs.StringVar(&cfg.RegistryPassword, "registry-password", "", "password of --registry-user")
	fs.IntVar(&cfg.Nodes, "nodes", 3, "number of fake nodes")
	fs.BoolVar(&cfg.NoRealNode, "no-real-node", false, "leave out the real node (containerd, kubelet, kube-proxy)")
	timeout := fs.Duration("timeout", 45*time.Minute, "give up after this long (includes a first build)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2, nil
	}
	if cfg.Dir == "" {
		cache, err := sandbox.DefaultCacheDir()
		if err != nil {
			return 1, err
		}
		cfg.Dir = cache + "/state"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch verb {
	case "up":
		start := time.Now()
		s, err := sandbox.Up(ctx, cfg)
		if err != nil {
			return 1, err
		}
		fmt.Fprintf(stderr, "sandbox: up in %s (state in %s)\n", time.Since(start).Round(100*time.Millisecond), s.Dir)
		printEnv(stdout, s)
		return 0, nil
	case "down":
		if _, err := os.Stat(cfg.Dir); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "sandbox: nothing to stop (no %s)\n", cfg.Dir)
			return 0, nil
		}
		if err := sandbox.Down(ctx, cfg.Dir); err != nil {
			return 1, err
		}
		fmt.Fprintf(stderr, "sandbox: stopped; removed %s\n", cfg.Dir)
		return 0, nil
	case "env":
		s, err := loadRunning(cfg.Dir)
		if err != nil {
			return 1, err
		}
		printEnv(stdout, s)
		return 0, nil
	case "status":
		return status(stdout, cfg.Dir)
	case "database":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, usage)
			return 2, nil
		}
		s, err := loadRunning(cfg.Dir)
		if err != nil {
			return 1, err
		}
		name := fs.Arg(0)
		if err := s.DropDatabase(ctx, name); err != nil {
			return 1, err
		}
		db, err := s.CreateDatabase(ctx, name)
		if err != nil {
			return 1, err
		}
		fmt.Fprintf(stdout, "URL=%s\nPOD_URL=%s\n", db.URL, db.PodURL)
		return 0, nil
	case "kubectl-path":
		cache, err := sandbox.DefaultCacheDir()
		if err != nil {
			return 1, err
		}
		root, err := sandbox.FindRepoRoot()
		if err != nil {
			return 1, err
		}
		path, err := sandbox.KubectlPath(ctx, cache, root, stderr)
		if err != nil {
			return 1, err
		}
		fmt.Fprintln(stdout, path)
		return 0, nil
	}
	fmt.Fprint(stderr, usage)
	return 2, nil
}

func loadRunning(dir string) (*sandbox.Sandbox, error) {
	s, err := sandbox.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no sandbox in %s: run scripts/sandbox up", dir)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("the sandbox in %s is broken (%v): run scripts/sandbox up to restart it", dir, err)
	}
	return s, nil
}

func printEnv(w io.Writer, s *sandbox.Sandbox) {
	for _, kv := range s.Env() {
		fmt.Fprintln(w, kv)
	}
}

func status(w io.Writer, dir string) (int, error) {
	s, err := sandbox.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "sandbox: not started (no state in %s)\n", dir)
		return 3, nil
	}
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(w, "sandbox in %s, started %s\n", s.Dir, s.Started.Local().Format(time.RFC3339))
	for _, c := range s.Components {
		state := "running"
		if !sandbox.ProcessRunning(c.PID, s.Dir) {
			state = "NOT RUNNING (log: " + c.Log + ")"
		}
		fmt.Fprintf(w, "  %-24s pid %-7d port %-5d %s\n", c.Name, c.PID, c.Port, state)
	}
	if err := s.Check(); err != nil {
		return 1, fmt.Errorf("broken: %v; run scripts/sandbox up to restart it", err)
	}
	printEnv(w, s)
	return 0, nil
}
