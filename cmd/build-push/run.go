package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// Inputs are build-push's inputs, parsed and checked.
type Inputs struct {
	Image         name.Repository
	Spec          image.Spec
	Tags          []string
	Push          bool
	OCILayoutPath string
	Registry      registry.Group
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var i Inputs
	_, nameOpts := in.Insecure("insecure-registries", "image")
	i.Image = in.Repository("image", nameOpts...)
	i.Push = in.Bool("push")
	i.OCILayoutPath = in.String("oci-layout-path")
	if !i.Push && i.OCILayoutPath == "" {
		in.Fail("oci-layout-path", "is required when push is false")
	}

	s := &i.Spec
	s.Context = in.String("context")
	for _, line := range in.Lines("files") {
		m, err := image.ParseMapping(line)
		if err != nil {
			in.Fail("files", "%v", err)
			continue
		}
		s.Files = append(s.Files, m)
	}
	if s.Base = in.String("base"); s.Base != "" && s.Base != "scratch" {
		if err := action.CheckImageRef(s.Base); err != nil {
			in.Fail("base", "%v", err)
		}
	}
	if platforms := in.List("platforms"); len(platforms) > 0 {
		ps, err := image.ParsePlatforms(strings.Join(platforms, ","))
		if err != nil {
			in.Fail("platforms", "%v", err)
		}
		s.Platforms = ps
	}
	s.Entrypoint = in.List("entrypoint")
	s.Cmd = in.List("cmd")
	s.WorkingDir = in.String("workdir")
	s.User = in.String("user")
	for _, kv := range in.KeyValues("env") {
		s.Env = append(s.Env, kv.Key+"="+kv.Value)
	}
	s.Labels = toMap(in.KeyValues("labels"))
	s.Annotations = toMap(in.KeyValues("annotations"))
	for _, p := range in.List("ports") {
		if _, err := image.ParsePort(p); err != nil {
			in.Fail("ports", "%v", err)
		}
		s.Ports = append(s.Ports, p)
	}
	s.Dockerfile = in.String("dockerfile")
	if args := toMap(in.KeyValues("build-args")); len(args) > 0 {
		s.BuildArgs = args
	}
	s.Target = in.String("target")

	gh, err := a.Context()
	if err != nil {
		return i, err
	}
	ref, sha := gh.Ref, gh.SHA
	if tags := in.Lines("tags"); len(tags) > 0 {
		for _, t := range tags {
			if err := image.ValidateTag(t); err != nil {
				in.Fail("tags", "%v", err)
			}
		}
		i.Tags = tags
	} else if i.Push {
		tags, err := image.DefaultTags(ref, sha)
		if err != nil {
			in.Fail("tags", "none given and none computed from GITHUB_REF/GITHUB_SHA: %v", err)
		}
		i.Tags = tags
	}
	s.Revision = sha
	s.Version = image.RefVersion(ref)
	if gh.Repository != "" {
		s.Source = strings.TrimSuffix(gh.ServerURL, "/") + "/" + gh.Repository
	}
	created, err := creationTime(a.Getenv("SOURCE_DATE_EPOCH"), s.Context)
	if err != nil {
		in.Fail("context", "%v", err)
	}
	s.Created = created

	i.Registry = registry.Parse(a, in, i.Image.RegistryStr())
	if err := in.Err(); err != nil {
		return i, err
	}
	// The spec's own offline checks: the context exists, files stay inside
	// it, the Dockerfile exists. Its errors name the input they come from.
	if err := s.Validate(); err != nil {
		return i, asInputErrors(err)
	}
	return i, nil
}

// creationTime is SOURCE_DATE_EPOCH, else the time of the commit checked out
// in dir, else the Unix epoch: never the build time, so that a rebuild of
// the same inputs gives the same digest.
func creationTime(epoch, dir string) (time.Time, error) {
	if epoch != "" {
		n, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a count of seconds", epoch)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Unix(0, 0).UTC(), nil
	}
	return time.Unix(n, 0).UTC(), nil
}

func toMap(kvs []action.KeyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// asInputErrors turns the image package's SpecErrors, which carry the name
// of the input they come from, into the action's InputErrors.
func asInputErrors(err error) error {
	var out []error
	for _, e := range unjoin(err) {
		var se *image.SpecError
		if errors.As(e, &se) {
			out = append(out, &action.InputError{Input: se.Field, Err: se.Err})
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func run(ctx context.Context, a *action.Action) error {
	start := time.Now()
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	b, err := image.NewBuilder(
		image.WithKeychain(in.Registry.Remote(a).Keychain),
		image.WithInsecureRegistries(in.Registry.Insecure...),
		image.WithCacheDir(image.DefaultCacheDir(a.Getenv)),
		// Layers are compressed to files before upload; the runner's temp
		// directory is cleaned after the job ("" means os.TempDir).
		image.WithTempDir(a.Getenv("RUNNER_TEMP")),
		image.WithReporter(reporter(a)),
	)
	if err != nil {
		return err
	}
	a.Group("Building " + in.Image.String())
	img, err := b.Build(ctx, in.Spec)
	a.EndGroup()
	if err != nil {
		return fmt.Errorf("building: %w", asInputErrors(err))
	}
	defer img.Close()

	var res *image.Result
	if in.Push {
		a.Group("Pushing " + in.Image.String())
		res, err = b.Push(ctx, img, in.Image.String(), in.Tags)
	} else {
		a.Group("Writing OCI layout " + in.OCILayoutPath)
		res, err = b.WriteLayout(ctx, img, in.OCILayoutPath, in.Tags)
	}
	a.EndGroup()
	if err != nil {
		return asInputErrors(err)
	}
	if err := setOutputs(a, res); err != nil {
		return err
	}
	return a.AddSummary(summary(res, time.Since(start)))
}

// Metadata is the JSON of the metadata output.
type Metadata struct {
	Digest    string   `json:"digest"`
	ImageRef  string   `json:"image-ref,omitempty"`
	Tags      []string `json:"tags"`
	Platforms []string `json:"platforms"`
	Size      int64    `json:"size"`
	MediaType string   `json:"media-type"`
	// Layers counts the layers made from the context; Uploaded the bytes
	// this run sent (0 when the registry had every blob).
	Layers   int   `json:"layers"`
	Uploaded int64 `json:"uploaded"`
}

func setOutputs(a *action.Action, res *image.Result) error {
	md := Metadata{Digest: res.Digest.String(), ImageRef: res.ImageRef, Tags: res.Tags, Size: res.Size, MediaType: string(res.MediaType),
		Layers: len(res.Layers), Uploaded: res.BytesUploaded}
	for _, p := range res.Images {
		md.Platforms = append(md.Platforms, p.Platform)
	}
	js, err := json.Marshal(md)
	if err != nil {
		return err
	}
	return a.SetOutputs(
		"digest", md.Digest,
		"image-ref", res.ImageRef,
		"tags", strings.Join(res.Tags, "\n"),
		"metadata", string(js),
	)
}

func reporter(a *action.Action) image.Reporter {
	return image.ReporterFunc(func(e image.Event) {
		switch e.Kind {
		case image.EventBaseResolved:
			a.Infof("base %s resolved to %s", e.Message, e.Digest)
		case image.EventFilesScanned:
			a.Infof("context %s: %s of files", e.Message, report.Bytes(e.Bytes))
		case image.EventLayerCached:
			a.Infof("layer %s: digest from the local cache", e.Digest)
		case image.EventLayerPushed:
			verb := "already in the registry"
			if e.Uploaded {
				verb = "uploaded"
			}
			a.Infof("layer %s (%s): %s", e.Digest, report.Bytes(e.Bytes), verb)
		case image.EventTagPushed:
			a.Infof("tagged %s -> %s", e.Message, e.Digest)
		case image.EventBuilderOutput:
			a.Infof("%s", e.Message)
		}
	})
}
