package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/action/filecmd"
	"github.com/fxplatform/deploy-actions/pkg/internal/sandbox"
)

// measurement is what /usr/bin/time -v says about one command.
type measurement struct {
	Wall, User, Sys time.Duration
	MaxRSSKiB       int64
	Stdout          string
}

func (m measurement) cpu() time.Duration { return m.User + m.Sys }

func (m measurement) add(o measurement) measurement {
	return measurement{Wall: m.Wall + o.Wall, User: m.User + o.User, Sys: m.Sys + o.Sys, MaxRSSKiB: max(m.MaxRSSKiB, o.MaxRSSKiB)}
}

var timeFields = map[string]*regexp.Regexp{
	"user": regexp.MustCompile(`User time \(seconds\): ([0-9.]+)`),
	"sys":  regexp.MustCompile(`System time \(seconds\): ([0-9.]+)`),
	"rss":  regexp.MustCompile(`Maximum resident set size \(kbytes\): ([0-9]+)`),
}

// measure runs a command under /usr/bin/time -v. Wall time is taken here,
// around the whole command.
func measure(ctx context.Context, name string, args ...string) (measurement, error) {
	return measureEnv(ctx, nil, name, args...)
}

// measureEnv is measure with the command's environment: env, or this
// process's when nil.
func measureEnv(ctx context.Context, env []string, name string, args ...string) (measurement, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v", name}, args...)...)
	cmd.Stdout, cmd.Stderr, cmd.Env = &stdout, &stderr, env
	start := time.Now()
	err := cmd.Run()
	m := measurement{Wall: time.Since(start), Stdout: stdout.String()}
	if err != nil {
		return m, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 30))
	}
	secs := func(k string) time.Duration {
		f, _ := strconv.ParseFloat(timeFields[k].FindStringSubmatch(stderr.String())[1], 64)
		return time.Duration(f * float64(time.Second))
	}
	m.User, m.Sys = secs("user"), secs("sys")
	m.MaxRSSKiB, _ = strconv.ParseInt(timeFields["rss"].FindStringSubmatch(stderr.String())[1], 10, 64)
	return m, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	work := fs.String("work", "", "work directory (context, registry, cache)")
	crane := fs.String("crane", "crane", "crane binary")
	buildPush := fs.String("build-push", "build-push", "build-push binary")
	rounds := fs.Int("rounds", 1, "measure each case this many times, keep the median")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(*work, "context")
	fmt.Fprintln(os.Stderr, "generating the context in", dir)
	if err := generate(dir); err != nil {
		return err
	}
	regDir, err := os.MkdirTemp(*work, "registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(regDir)
	reg, err := sandbox.StartRegistry(ctx, regDir, sandbox.RegistryOptions{})
	if err != nil {
		return err
	}
	defer reg.Close()
	host := reg.Addr
	tarball := filepath.Join(*work, "layer.tar")
	out := filepath.Join(*work, "crane-image.tar")
	defer os.Remove(tarball)
	defer os.Remove(out)

	type row struct {
		name string
		m    measurement
		note string
	}
	var rows []row
	median := func(f func(i int) (measurement, error)) (measurement, error) {
		var ms []measurement
		for i := range *rounds {
			m, err := f(i)
			if err != nil {
				return m, err
			}
			ms = append(ms, m)
		}
		slicesSortByWall(ms)
		return ms[len(ms)/2], nil
	}

	// crane: tar the tree, append it to scratch, push.
	// parts of each round, by total wall time, to show the median round's
	parts := map[time.Duration][3]measurement{}
	craneM, err := median(func(i int) (measurement, error) {
		repo := fmt.Sprintf("%s/bench/crane-%d:bench", host, i)
		var tarM, appendM, pushM measurement
		var err error
		if tarM, err = measure(ctx, "tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
			"--exclude=./.complete", "--transform", `s,^\.,app,`, "-cf", tarball, "-C", dir, "."); err != nil {
			return tarM, err
		}
		if appendM, err = measure(ctx, *crane, "append", "-f", tarball, "-t", repo, "-o", out); err != nil {
			return appendM, err
		}
		if pushM, err = measure(ctx, *crane, "push", out, repo); err != nil {
			return pushM, err
		}
		total := tarM.add(appendM).add(pushM)
		parts[total.Wall] = [3]measurement{tarM, appendM, pushM}
		return total, nil
	})
	if err != nil {
		return err
	}
	tarM, appendM, pushM := parts[craneM.Wall][0], parts[craneM.Wall][1], parts[craneM.Wall][2]
	rows = append(rows,
		row{"`tar` of the context (input for crane)", tarM, ""},
		row{"`crane append -f layer.tar -o image.tar`", appendM, ""},
		row{"`crane push image.tar`", pushM, ""},
		row{"**crane total** (tar + append + push)", craneM, "baseline"})
	directM, err := median(func(i int) (measurement, error) {
		return measure(ctx, *crane, "append", "-f", tarball, "-t", fmt.Sprintf("%s/bench/crane-direct-%d:bench", host, i))
	})
	if err != nil {
		return err
	}
	rows = append(rows, row{"`crane append -f layer.tar -t repo` (pushes directly; tar not counted)", directM, ""})

	// ours: the build-push binary in CLI mode. Cold (empty cache, new
	// repository), then a rebuild with no change (same cache), then the same
	// build on a fresh machine (empty cache, the registry has the blobs).
	ours := func(repo, cache string) (measurement, metadata, error) {
		env := append(cleanEnv(), "XDG_CACHE_HOME="+cache, "SOURCE_DATE_EPOCH=1764000000")
		m, err := measureEnv(ctx, env, *buildPush, "--image", repo, "--context", dir, "--tags", "bench", "--insecure-registries", host)
		if err != nil {
			return m, metadata{}, err
		}
		md, err := readMetadata(m.Stdout)
		return m, md, err
	}
	oursRepo := func(i int) string { return fmt.Sprintf("%s/bench/ours-%d", host, i) }
	cacheDir := func(kind string, i int) string { return filepath.Join(regDir, fmt.Sprintf("cache-%s-%d", kind, i)) }
	var cold, warm, fresh metadata
	oursM, err := median(func(i int) (m measurement, err error) {
		m, cold, err = ours(oursRepo(i), cacheDir("build", i))
		return m, err
	})
	if err != nil {
		return err
	}
	rebuildM, err := median(func(i int) (m measurement, err error) {
		m, warm, err = ours(oursRepo(i), cacheDir("build", i))
		return m, err
	})
	if err != nil {
		return err
	}
	freshM, err := median(func(i int) (m measurement, err error) {
		m, fresh, err = ours(oursRepo(i), cacheDir("fresh", i))
		return m, err
	})
	if err != nil {
		return err
	}
	for _, md := range []metadata{warm, fresh} {
		if md.Digest != cold.Digest {
			return fmt.Errorf("rebuild gave digest %s, first build %s", md.Digest, cold.Digest)
		}
	}
	rows = append(rows,
		row{fmt.Sprintf("**build-push** (%d layers in parallel)", cold.Layers), oursM, fmt.Sprintf("%.2f× crane's wall time; uploaded %s", ratio(oursM.Wall, craneM.Wall), mib(cold.Uploaded))},
		row{"build-push, rebuild with no change", rebuildM, fmt.Sprintf("uploaded %d bytes", warm.Uploaded)},
		row{"build-push, same build on a fresh machine (empty cache; the registry has the blobs)", freshM, fmt.Sprintf("uploaded %d bytes", fresh.Uploaded)})

	fmt.Printf("Context: %d files, %s (half text, half random bytes); local docker-registry over HTTP; %d CPUs; median of %d.\n\n", genFiles, mib(genBytes), numCPU(), *rounds)
	fmt.Println("| run | wall | CPU (user+sys) | peak memory | note |")
	fmt.Println("|---|---:|---:|---:|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %.2f s | %.2f s | %d MiB | %s |\n", r.name, r.m.Wall.Seconds(), r.m.cpu().Seconds(), r.m.MaxRSSKiB/1024, r.note)
	}
	return nil
}

// metadata is the part of build-push's metadata output the table needs.
type metadata struct {
	Digest   string `json:"digest"`
	Layers   int    `json:"layers"`
	Uploaded int64  `json:"uploaded"`
}

// readMetadata reads the metadata output from build-push's stdout, which
// in CLI mode holds its outputs as name=value lines.
func readMetadata(stdout string) (metadata, error) {
	var md metadata
	outs, err := filecmd.Read(strings.NewReader(stdout))
	if err != nil {
		return md, fmt.Errorf("reading build-push's outputs: %w", err)
	}
	if err := json.Unmarshal([]byte(outs["metadata"]), &md); err != nil {
		return md, fmt.Errorf("reading build-push's metadata output %q: %w", outs["metadata"], err)
	}
	return md, nil
}

// cleanEnv is this process's environment without the runner's variables,
// so that build-push runs in CLI mode even when the benchmark runs in CI.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "INPUT_") && !strings.HasPrefix(kv, "RUNNER_") {
			env = append(env, kv)
		}
	}
	return env
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func slicesSortByWall(ms []measurement) {
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			if ms[j].Wall < ms[i].Wall {
				ms[i], ms[j] = ms[j], ms[i]
			}
		}
	}
}
