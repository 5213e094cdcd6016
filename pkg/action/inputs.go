package action

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// InputError is a bad input: which one, and why.
type InputError struct {
	Input string
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("input %q: %v", e.Input, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// Inputs reads typed inputs and collects every problem, so an action checks
// all its inputs, and reports all that are wrong, before its first network
// call. Each getter returns the zero value for a bad input; call Err once
// after the last getter.
type Inputs struct {
	a    *Action
	errs []error
}

// Inputs starts reading the action's inputs.
func (a *Action) Inputs() *Inputs { return &Inputs{a: a} }

// Err returns every input problem found so far, joined, or nil.
func (in *Inputs) Err() error { return errors.Join(in.errs...) }

// Fail records a problem with an input found by a check of the caller's
// own (a path outside the context, two inputs that conflict).
func (in *Inputs) Fail(input, format string, args ...any) {
	in.errs = append(in.errs, &InputError{Input: input, Err: fmt.Errorf(format, args...)})
}

func (in *Inputs) fail(input string, err error) {
	in.errs = append(in.errs, &InputError{Input: input, Err: err})
}

// text returns the input's text and whether it is set. A required input
// that is empty is recorded as a problem. An undeclared name is a
// programmer's mistake and panics.
func (in *Inputs) text(name string) (string, bool) {
	decl, ok := in.a.spec.Input(name)
	if !ok {
		panic(fmt.Sprintf("action %s: input %q is not declared", in.a.spec.Name, name))
	}
	v := in.a.raw(name)
	if v == "" && decl.Required {
		in.fail(name, errors.New("is required"))
	}
	return v, v != ""
}

// String returns the input's text (or its default).
func (in *Inputs) String(name string) string {
	v, _ := in.text(name)
	return v
}

// Bool returns a true/false input.
func (in *Inputs) Bool(name string) bool {
	v, ok := in.text(name)
	if !ok {
		return false
	}
	b, err := ParseBool(v)
	if err != nil {
		in.fail(name, err)
	}
	return b
}

// Int returns a whole number within [lo, hi].
func (in *Inputs) Int(name string, lo, hi int) int {
	v, ok := in.text(name)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		in.fail(name, fmt.Errorf("%q is not a whole number", v))
	case n < lo:
		in.fail(name, fmt.Errorf("%d is below %d", n, lo))
	case n > hi:
		in.fail(name, fmt.Errorf("%d is above %d", n, hi))
	}
	return n
}

// Float returns a number within [lo, hi]; lo itself is refused when
// openLo (a rate that must be above 0).
func (in *Inputs) Float(name string, lo, hi float64, openLo bool) float64 {
	v, ok := in.text(name)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		in.fail(name, fmt.Errorf("%q is not a number", v))
	case f < lo || (openLo && f == lo):
		in.fail(name, fmt.Errorf("%v must be above %v", f, lo))
	case f > hi:
		in.fail(name, fmt.Errorf("%v is above %v", f, hi))
	}
	return f
}

// Bytes returns a size ("512MiB", "2GiB") within [lo, hi] bytes.
func (in *Inputs) Bytes(name string, lo, hi int64) int64 {
	v, ok := in.text(name)
	if !ok {
		return 0
	}
	n, err := ParseBytes(v)
	switch {
	case err != nil:
		in.fail(name, err)
	case n < lo:
		in.fail(name, fmt.Errorf("%s is below %s", v, FormatBytes(lo)))
	case n > hi:
		in.fail(name, fmt.Errorf("%s is above %s", v, FormatBytes(hi)))
	}
	return n
}

// Duration returns a Go duration ("30s", "5m").
func (in *Inputs) Duration(name string) time.Duration {
	v, ok := in.text(name)
	if !ok {
		return 0
	}
	d, err := ParseDuration(v)
	if err != nil {
		in.fail(name, err)
	}
	return d
}

// HTTPURL returns an http or https URL with a host, or "" when the input is
// not set (a required one is then a problem).
func (in *Inputs) HTTPURL(name string) string {
	v, ok := in.text(name)
	if !ok {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		in.fail(name, fmt.Errorf("%q is not an http(s) URL", v))
	}
	return v
}

// Percent returns a percentage ("0.1%") as a fraction (0.001).
func (in *Inputs) Percent(name string) float64 {
	v, ok := in.text(name)
	if !ok {
		return 0
	}
	f, err := ParsePercent(v)
	if err != nil {
		in.fail(name, err)
	}
	return f
}

// Steps returns a strictly increasing list of whole percentages ("10,25,50,100").
func (in *Inputs) Steps(name string) []int {
	v, ok := in.text(name)
	if !ok {
		return nil
	}
	steps, err := ParseSteps(v)
	if err != nil {
		in.fail(name, err)
	}
	return steps
}

// List returns a newline- or comma-separated list.
func (in *Inputs) List(name string) []string {
	v, _ := in.text(name)
	return ParseList(v)
}

// Lines returns a newline-separated list (items may contain commas).
func (in *Inputs) Lines(name string) []string {
	v, _ := in.text(name)
	return ParseLines(v)
}

// KeyValues returns newline KEY=VALUE pairs in the order given.
func (in *Inputs) KeyValues(name string) []KeyValue {
	v, ok := in.text(name)
	if !ok {
		return nil
	}
	kvs, err := ParseKeyValues(v)
	if err != nil {
		in.fail(name, err)
	}
	return kvs
}

// Enum returns one of the input's declared allowed values.
func (in *Inputs) Enum(name string) string {
	v, ok := in.text(name)
	if !ok {
		return ""
	}
	decl, _ := in.a.spec.Input(name)
	if !slices.Contains(decl.Allowed, v) {
		in.fail(name, fmt.Errorf("%q is not allowed (allowed: %s)", v, strings.Join(decl.Allowed, ", ")))
		return ""
	}
	return v
}

// Repository returns an image repository without tag or digest, such as
// ghcr.io/acme/fx-platform.
func (in *Inputs) Repository(input string, opts ...name.Option) name.Repository {
	v, ok := in.text(input)
	if !ok {
		return name.Repository{}
	}
	repo, err := ParseRepository(v, opts...)
	if err != nil {
		in.fail(input, err)
	}
	return repo
}

// Digest returns an image pinned by digest (repo@sha256:...). A tag-only
// reference is refused: no stage after build-push trusts a tag.
func (in *Inputs) Digest(input string, opts ...name.Option) name.Digest {
	v, ok := in.text(input)
	if !ok {
		return name.Digest{}
	}
	d, err := ParseDigest(v, opts...)
	if err != nil {
		in.fail(input, err)
	}
	return d
}

// CheckImageRef refuses what go-containerregistry's parser lets through
// but is no image reference: a URL scheme (file:///etc/passwd@sha256:...,
// http://169.254.169.254/x@sha256:...), an empty path segment
// (127.0.0.1:5599//x). Such a value would fail only at the network, after
// other requests were made.
func CheckImageRef(s string) error {
	switch {
	case strings.Contains(s, "://"):
		return fmt.Errorf("%q is a URL, not an image reference (write registry/repository, e.g. ghcr.io/acme/app, with no scheme)", s)
	case strings.HasPrefix(s, "/") || strings.Contains(s, "//") || strings.HasSuffix(strings.SplitN(s, "@", 2)[0], "/"):
		return fmt.Errorf("%q has an empty path segment: not an image reference", s)
	}
	return nil
}

// ParseRepository reads an image repository with no tag or digest. A name
// without a registry means Docker Hub, as docker and crane read it.
func ParseRepository(s string, opts ...name.Option) (name.Repository, error) {
	if err := CheckImageRef(s); err != nil {
		return name.Repository{}, err
	}
	last := s[strings.LastIndex(s, "/")+1:]
	if strings.Contains(s, "@") || strings.Contains(last, ":") {
		return name.Repository{}, fmt.Errorf("%q names a tag or digest; give the repository only (e.g. ghcr.io/acme/app)", s)
	}
	repo, err := name.NewRepository(s, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%q is not an image repository (e.g. ghcr.io/acme/app): %v", s, err)
	}
	return repo, nil
}

// ParseDigest reads an image reference pinned by digest, repo@sha256:<64 hex>.
func ParseDigest(s string, opts ...name.Option) (name.Digest, error) {
	if err := CheckImageRef(s); err != nil {
		return name.Digest{}, err
	}
	if !strings.Contains(s, "@") {
		return name.Digest{}, fmt.Errorf("%q is not pinned by digest (want repo@sha256:<64 hex>; tags are not trusted after build-push)", s)
	}
	d, err := name.NewDigest(s, append(opts, name.StrictValidation)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%q is not a valid repo@sha256:<64 hex> reference: %v", s, err)
	}
	return d, nil
}

// Insecure reads the list input naming registry hosts reached over plain
// HTTP, and returns it with the name options for the image input: with
// name.Insecure when that image's registry is in the list.
func (in *Inputs) Insecure(listInput, imageInput string) ([]string, []name.Option) {
	hosts := in.List(listInput)
	// The image input's own getter reports it missing; reading it here
	// must not report it a second time.
	host, _, _ := strings.Cut(in.a.raw(imageInput), "/")
	if slices.Contains(hosts, host) {
		return hosts, []name.Option{name.Insecure}
	}
	return hosts, nil
}
