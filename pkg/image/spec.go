package image

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Spec describes an image to build. The zero value, with Created set,
// packages the current directory at /app on scratch for linux/amd64.
type Spec struct {
	// Context is the directory files come from; default ".".
	Context string
	// Files maps context paths into the image; default DefaultMapping. A
	// source may name the platform ({os}, {arch}, {variant}); Platforms
	// must then be given.
	Files []Mapping
	// Base is the base image reference; "" or "scratch" is an empty image.
	Base string
	// Platforms to build; default every platform of the base index, or the
	// base image's own platform, or linux/amd64 for scratch. More than one
	// platform gives an image index.
	Platforms []v1.Platform
	// Entrypoint and Cmd replace the base's when non-nil; an Entrypoint
	// without Cmd clears the base's Cmd, as a Dockerfile ENTRYPOINT does.
	Entrypoint, Cmd []string
	// WorkingDir and User replace the base's when non-empty.
	WorkingDir, User string
	// Env holds KEY=VALUE pairs; they replace the base's values of KEY.
	Env []string
	// Labels are added to the config, over the OCI labels below.
	Labels map[string]string
	// Annotations are added to every manifest and to the index.
	Annotations map[string]string
	// Ports to expose, e.g. "3000/tcp", "53/udp", "8080" (tcp).
	Ports []string
	// Created is the config's creation time and the OCI created label:
	// SOURCE_DATE_EPOCH or the commit time, never the build time, so that a
	// rebuild gives the same digest.
	Created time.Time
	// FileTime is the modification time of every layer entry; the zero
	// value means 1970-01-01T00:00:00Z. Keeping it fixed across commits lets
	// unchanged layers keep their digest.
	FileTime time.Time
	// Source, Revision and Version fill org.opencontainers.image.source,
	// .revision and .version when non-empty.
	Source, Revision, Version string
	// Layers is how many layers the files are split into, so they compress
	// in parallel; 0 picks one per 32 MiB, at most 8.
	Layers int
	// Dockerfile, when set, builds with buildah or docker buildx instead of
	// from Files and Base (which must then be empty); the image still gets
	// the labels, annotations and config fields above. Path relative to the
	// working directory.
	Dockerfile string
	// BuildArgs are the Dockerfile's ARG values (--build-arg), and Target
	// the stage to build (--target; "" for the last); Dockerfile builds
	// only. Build arguments stay in the image's history: no secrets.
	BuildArgs map[string]string
	Target    string
}

// SpecError is a Spec field that fails validation. Field is the
// build-push input the field comes from ("files", "platforms", ...).
type SpecError struct {
	Field string
	Err   error
}

func (e *SpecError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(field string, err error) error { return &SpecError{Field: field, Err: err} }

// Validate checks the Spec without touching the network: fields parse,
// files exist and stay inside the context. Build calls it first.
func (s *Spec) Validate() error {
	var errs []error
	if fi, err := os.Stat(s.contextDir()); err != nil {
		errs = append(errs, specErr("context", err))
	} else if !fi.IsDir() {
		errs = append(errs, specErr("context", fmt.Errorf("%q is not a directory", s.contextDir())))
	}
	for _, m := range s.Files {
		if _, err := ParseMapping(m.String()); err != nil {
			errs = append(errs, specErr("files", err))
		}
	}
	for _, p := range s.Platforms {
		if _, err := ParsePlatform(platformString(p)); err != nil {
			errs = append(errs, specErr("platforms", err))
		}
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			errs = append(errs, specErr("env", fmt.Errorf("%q: want KEY=VALUE", e)))
		}
	}
	for k := range s.Labels {
		if k == "" {
			errs = append(errs, specErr("labels", errors.New("empty key")))
		}
	}
	for k := range s.Annotations {
		if k == "" {
			errs = append(errs, specErr("annotations", errors.New("empty key")))
		}
	}
	for _, p := range s.Ports {
		if _, err := ParsePort(p); err != nil {
			errs = append(errs, specErr("ports", err))
		}
	}
	if s.Layers < 0 || s.Layers > 64 {
		errs = append(errs, specErr("layers", fmt.Errorf("%d: want 0 (automatic) to 64", s.Layers)))
	}
	if s.Dockerfile != "" {
		if len(s.Files) > 0 || !s.isScratch() {
			errs = append(errs, specErr("dockerfile", errors.New("cannot be combined with files or base")))
		}
		if len(s.Platforms) > 1 {
			errs = append(errs, specErr("dockerfile", errors.New("builds one platform; give at most one in platforms")))
		}
		if fi, err := os.Stat(s.Dockerfile); err != nil || fi.IsDir() {
			errs = append(errs, specErr("dockerfile", fmt.Errorf("%q is not a file", s.Dockerfile)))
		} else if s.Target != "" {
			if err := checkTarget(s.Dockerfile, s.Target); err != nil {
				errs = append(errs, specErr("target", err))
			}
		}
	} else {
		if len(s.BuildArgs) > 0 {
			errs = append(errs, specErr("build-args", errors.New("needs dockerfile: build arguments are a Dockerfile's ARG values")))
		}
		if s.Target != "" {
			errs = append(errs, specErr("target", errors.New("needs dockerfile: a target is a stage of a Dockerfile")))
		}
	}
	for k := range s.BuildArgs {
		if !buildArgName.MatchString(k) {
			errs = append(errs, specErr("build-args", fmt.Errorf("%q is not an ARG name ([A-Za-z_][A-Za-z0-9_]*)", k)))
		}
	}
	if perPlatform(s.Files) && len(s.Platforms) == 0 {
		errs = append(errs, specErr("files", errors.New("a source names {os}, {arch} or {variant}: give platforms, so that every platform's files are checked before anything is fetched")))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if s.Dockerfile == "" {
		if _, err := s.scanFiles(); err != nil {
			return specErr("files", err)
		}
	}
	return nil
}

// scanFiles resolves the files mappings against the context: one entry
// list for every platform, or, when the mappings name the platform, one
// for each platform of s.Platforms, in order.
func (s *Spec) scanFiles() ([][]entry, error) {
	if !perPlatform(s.Files) {
		entries, err := scan(s.contextDir(), s.Files)
		if err != nil {
			return nil, err
		}
		return [][]entry{entries}, nil
	}
	sets := make([][]entry, 0, len(s.Platforms))
	for _, p := range s.Platforms {
		entries, err := scan(s.contextDir(), forPlatform(s.Files, p))
		if err != nil {
			return nil, fmt.Errorf("for %s: %w", platformString(p), err)
		}
		sets = append(sets, entries)
	}
	return sets, nil
}

func (s *Spec) contextDir() string {
	if s.Context == "" {
		return "."
	}
	return s.Context
}

func (s *Spec) isScratch() bool { return s.Base == "" || s.Base == "scratch" }

// ParsePort parses an exposed port, "3000/tcp", "53/udp", "9000/sctp" or
// "8080" (tcp), and returns it in the config's "PORT/PROTO" form.
func ParsePort(s string) (string, error) {
	port, proto, found := strings.Cut(s, "/")
	if !found {
		proto = "tcp"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("port %q: want a number 1-65535, optionally /tcp, /udp or /sctp", s)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return "", fmt.Errorf("port %q: protocol %q is not tcp, udp or sctp", s, proto)
	}
	return port + "/" + proto, nil
}

// buildArgName is the name of a Dockerfile ARG.
var buildArgName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkTarget checks, with BuildKit's own Dockerfile parser, that the
// Dockerfile at path has a stage named target (stage names are
// case-insensitive), so that a mistyped target fails before anything is
// built.
func checkTarget(path, target string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	ast, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var names []string
	for _, st := range stages {
		if st.Name == "" {
			continue
		}
		if strings.EqualFold(st.Name, target) {
			return nil
		}
		names = append(names, st.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("%s names no stage (FROM <image> AS <name>), so it has no stage %q", path, target)
	}
	return fmt.Errorf("%s has no stage %q (its stages: %s)", path, target, strings.Join(names, ", "))
}
