package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/image"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// summary is the step summary: what was pushed, where, and what it is made of.
func summary(res *image.Result, took time.Duration) string {
	var platforms []string
	for _, p := range res.Images {
		platforms = append(platforms, p.Platform)
	}
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	rows := [][]string{
		{"digest", report.Code(res.Digest.String())},
		{"tags", codeList(res.Tags)},
		{"platforms", codeList(platforms)},
		{"size", report.Bytes(res.Size)},
		{"uploaded", report.Bytes(res.BytesUploaded)},
		{"time", fmt.Sprintf("%s (build %s, layers %s, push %s)", ms(took), ms(res.Timings.Build), ms(res.Timings.Layers), ms(res.Timings.Push))},
	}
	if res.ImageRef != "" {
		rows = append([][]string{{"image", report.Code(res.ImageRef)}}, rows...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### build-push: %s\n\n", report.Escape(res.Repository))
	b.WriteString(report.Table([]string{"", ""}, rows))

	var layers [][]string
	for _, p := range res.Images {
		for _, l := range p.Layers {
			origin, files := "base", ""
			if !l.FromBase {
				origin, files = "context, already present", fmt.Sprint(l.Files)
				if l.Uploaded {
					origin = "context, uploaded"
				}
			}
			layers = append(layers, []string{p.Platform, report.Code(short(l.Digest.String())), report.Bytes(l.Size), files, origin})
		}
	}
	if len(layers) > 0 {
		b.WriteString("\n")
		b.WriteString(report.Table([]string{"platform", "layer", "size", "files", "origin"}, layers))
	}
	return b.String()
}

func codeList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	codes := make([]string, len(items))
	for i, s := range items {
		codes[i] = report.Code(s)
	}
	return strings.Join(codes, ", ")
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
