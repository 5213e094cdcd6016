// Package charts is the chart input group of the actions that render a
// Helm chart (deploy for staging, promote for production's colours): the
// chart and its version, the values as the helm CLI takes them, and where
// the image goes in them. Everything is read and checked without a network
// call; an oci:// chart is pulled by Load.
package charts

import (
	"context"
	"errors"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	chart "helm.sh/helm/v4/pkg/chart/v2"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

// Inputs are the group's inputs; chartDescription says what the chart is
// for in this action, and required whether it must be given.
func Inputs(chartDescription string, required bool) []action.Input {
	return []action.Input{
		{Name: "chart", Required: required, Description: chartDescription},
		{Name: "chart-version", Description: "Chart version, for oci:// charts (default: the highest semver tag)."},
		{Name: "values-files", Kind: action.KindLines, Description: "Newline list of values files, applied in order."},
		{Name: "set", Kind: action.KindLines, Description: "Newline list of key=value in helm --set syntax (a line may hold a=b,c=d)."},
		{Name: "set-string", Kind: action.KindLines, Description: "Newline list of key=value in helm --set-string syntax."},
		{Name: "image-repository-key", Default: "image.repository", Description: "Values key that receives the image repository."},
		{Name: "image-digest-key", Default: "image.digest", Description: "Values key that receives the sha256:... digest."},
		{Name: "image-tag-key", Description: "For charts that only template repository:tag: this key receives <tag>@sha256:... instead of the digest key (image must then be repo:tag@sha256:...)."},
	}
}

// Group is the chart and its values, as read from the inputs.
type Group struct {
	Ref    helm.ChartRef
	Values map[string]any
	local  *chart.Chart // loaded already for a local chart
}

// Parse reads the group. img is the action's image (nil when none was
// given, or it was refused) and raw the image input as written, whose tag
// image-tag-key needs. Problems are recorded against their input.
func Parse(in *action.Inputs, img *name.Digest, raw string) Group {
	var g Group
	g.Ref = helm.ChartRef{Ref: in.String("chart"), Version: in.String("chart-version")}
	if g.Ref.Ref != "" {
		ch, err := g.Ref.Check()
		switch {
		case err != nil && g.Ref.Version != "" && !g.Ref.IsOCI():
			in.Fail("chart-version", "%v", err)
		case err != nil:
			in.Fail("chart", "%v", err)
		}
		g.local = ch
	}
	values := helm.Values{Files: in.Lines("values-files"), Set: in.Lines("set"), SetString: in.Lines("set-string")}
	if img != nil {
		values.Image = &helm.Image{
			Repository:    img.Context().Name(),
			Digest:        img.DigestStr(),
			Tag:           tagOf(raw),
			RepositoryKey: in.String("image-repository-key"),
			DigestKey:     in.String("image-digest-key"),
			TagKey:        in.String("image-tag-key"),
		}
	} else if raw == "" && in.String("image-tag-key") != "" {
		in.Fail("image-tag-key", "is set but image is not")
	}
	v, err := values.Merge()
	if err != nil {
		var ve *helm.ValuesError
		if errors.As(err, &ve) {
			in.Fail(ve.Source, "%v", ve.Err)
		} else {
			in.Fail("values-files", "%v", err)
		}
		return g
	}
	g.Values = v
	return g
}

// Set reports whether a chart was given.
func (g Group) Set() bool { return g.Ref.Ref != "" }

// Local is the chart when it is a local one (loaded by Parse), else nil.
func (g Group) Local() *chart.Chart { return g.local }

// Load returns the chart: the local one, or the oci:// one pulled with the
// user agent of the action.
func (g Group) Load(ctx context.Context, a *action.Action, userAgent string) (*chart.Chart, error) {
	if !g.Ref.IsOCI() {
		return g.local, nil
	}
	a.Infof("Pulling chart %s %s", g.Ref.Ref, g.Ref.Version)
	return g.Ref.Pull(ctx, image.Remote{UserAgent: userAgent})
}

// tagOf returns the tag of repo:tag@sha256:..., or "".
func tagOf(ref string) string {
	base, _, _ := strings.Cut(ref, "@")
	last := base[strings.LastIndex(base, "/")+1:]
	if _, tag, ok := strings.Cut(last, ":"); ok {
		return tag
	}
	return ""
}
