package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/scan"
)

// Inputs are scan's inputs, parsed and checked.
type Inputs struct {
	Image             name.Digest
	OCILayoutPath     string
	ImageTarball      string
	Platform          v1.Platform
	SeverityThreshold string
	Ignores           []scan.Ignore
	OnlyFixed         bool
	OSVDB             string
	OSVAPIURL         string
	MemoryBudget      scan.Budget
	SARIFFile         string
	JSONFile          string
	SBOMFile          string
	SBOMFormat        string
	// Registry is how the image is read from its registry.
	Registry image.Remote
}

func parseInputs(a *action.Action) (Inputs, error) {
	in := a.Inputs()
	var i Inputs
	_, opts := in.Insecure("insecure-registries", "image")
	i.Image = in.Digest("image", opts...)
	i.OCILayoutPath = in.String("oci-layout-path")
	i.ImageTarball = in.String("image-tarball")
	if i.OCILayoutPath != "" && i.ImageTarball != "" {
		in.Fail("image-tarball", "give oci-layout-path or image-tarball, not both")
	}
	if p := i.OCILayoutPath; p != "" {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			in.Fail("oci-layout-path", "%q is not a directory", p)
		}
	}
	if p := i.ImageTarball; p != "" {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			in.Fail("image-tarball", "%q is not a file", p)
		}
	}
	if p, err := image.ParsePlatform(in.String("platform")); err != nil {
		in.Fail("platform", "%v", err)
	} else {
		i.Platform = p
	}
	i.SeverityThreshold = in.Enum("severity-threshold")
	if f := in.String("ignore-file"); f != "" {
		igs, err := scan.ReadIgnoreFile(f)
		if err != nil {
			in.Fail("ignore-file", "%v", err)
		}
		i.Ignores = igs
	}
	i.OnlyFixed = in.Bool("only-fixed")
	i.OSVDB = in.String("osv-db")
	if i.OSVDB != "" {
		if err := scan.CheckOfflineDB(i.OSVDB); err != nil {
			in.Fail("osv-db", "%q: %v", i.OSVDB, err)
		}
	}
	i.OSVAPIURL = in.String("osv-api-url")
	if i.OSVDB == "" && !strings.HasPrefix(i.OSVAPIURL, "https://") && !strings.HasPrefix(i.OSVAPIURL, "http://") {
		in.Fail("osv-api-url", "%q is not an http(s) URL", i.OSVAPIURL)
	}
	i.MemoryBudget = scan.Budget(in.Bytes("memory-budget", 16<<20, 64<<30))
	// An empty input is the default, so "none" is how to write none.
	if i.SARIFFile = in.String("sarif-file"); i.SARIFFile == "none" {
		i.SARIFFile = ""
	}
	i.JSONFile = in.String("json-file")
	i.SBOMFile = in.String("sbom-file")
	i.SBOMFormat = in.Enum("sbom-format")
	for input, p := range map[string]string{"sarif-file": i.SARIFFile, "json-file": i.JSONFile, "sbom-file": i.SBOMFile} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
			in.Fail(input, "the directory of %q does not exist", p)
		}
	}
	i.Registry = registry.Parse(a, in, i.Image.RegistryStr()).Remote(a)
	return i, in.Err()
}

// policy is the threshold, ignores and only-fixed as scan.Policy.
func (i Inputs) policy(now time.Time) scan.Policy {
	p := scan.Policy{OnlyFixed: i.OnlyFixed, Ignores: i.Ignores, Now: now}
	if i.SeverityThreshold == "none" {
		p.None = true
	} else {
		p.Threshold, _ = scan.ParseSeverity(i.SeverityThreshold)
	}
	return p
}

func (i Inputs) matcher() scan.Matcher {
	if i.OSVDB != "" {
		return scan.OfflineDB{Path: i.OSVDB}
	}
	return scan.API{URL: i.OSVAPIURL, Client: &http.Client{Timeout: 2 * time.Minute}}
}

func (i Inputs) open(ctx context.Context) (v1.Image, error) {
	switch {
	case i.OCILayoutPath != "":
		return scan.OpenLayout(i.OCILayoutPath, i.Image.DigestStr(), i.Platform)
	case i.ImageTarball != "":
		return scan.OpenTarball(i.ImageTarball)
	}
	return scan.OpenRemote(ctx, i.Image, i.Platform, i.Registry.Options(ctx)...)
}

func run(ctx context.Context, a *action.Action) error {
	in, err := parseInputs(a)
	if err != nil {
		return err
	}
	img, err := in.open(ctx)
	if err != nil {
		return err
	}
	a.Infof("Scanning %s", in.Image)
	inv, findings, err := scan.Scan(ctx, img, in.matcher(), in.MemoryBudget)
	var dbErr *scan.DatabaseError
	if errors.As(err, &dbErr) {
		return &action.ExitError{Code: 2, Err: fmt.Errorf("no scan result, the vulnerability database failed: %w", err)}
	}
	var budgetErr *scan.BudgetError
	if errors.As(err, &budgetErr) {
		return &action.ExitError{Code: 2, Err: fmt.Errorf("no scan result: %w; raise memory-budget (now %s) to scan this image", err, action.FormatBytes(budgetErr.Budget))}
	}
	if err != nil {
		return err
	}
	policy := in.policy(time.Now())
	rep := scan.Evaluate(in.Image.String(), len(inv.Packages()), findings, policy)
	if err := writeReports(in, inv, rep); err != nil {
		return err
	}
	if err := a.SetOutputs(
		"passed", fmt.Sprint(rep.Passed),
		"critical", fmt.Sprint(rep.Counts["critical"]),
		"high", fmt.Sprint(rep.Counts["high"]),
		"medium", fmt.Sprint(rep.Counts["medium"]),
		"low", fmt.Sprint(rep.Counts["low"]),
		"total", fmt.Sprint(rep.Counts["total"]),
		"sarif-file", in.SARIFFile,
		"json-file", in.JSONFile,
		"sbom-file", in.SBOMFile,
	); err != nil {
		return err
	}
	for _, ig := range rep.ExpiredIgnores {
		a.Warningf("expired ignore", "ignore of %s expired on %s and counts again (reason was: %s)", ig.ID, ig.IgnoreUntil.Format(time.DateOnly), ig.Reason)
	}
	if err := a.AddSummary(summary(rep, policy)); err != nil {
		return err
	}
	return rep.Err()
}

func writeReports(in Inputs, inv *scan.Inventory, rep *scan.Report) error {
	write := func(path string, fn func(f *os.File) error) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("writing %q: %w", path, err)
		}
		return f.Close()
	}
	return errors.Join(
		write(in.SARIFFile, func(f *os.File) error { return scan.WriteSARIF(f, rep) }),
		write(in.JSONFile, func(f *os.File) error { return scan.WriteJSON(f, rep) }),
		write(in.SBOMFile, func(f *os.File) error { return scan.WriteSBOM(f, inv, in.SBOMFormat, in.Image.String()) }),
	)
}
