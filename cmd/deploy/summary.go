package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/fxplatform/deploy-actions/pkg/helm"
	"github.com/fxplatform/deploy-actions/pkg/report"
)

// summary is the step summary: what was deployed, what changed against the
// previous revision (never a Secret's data), what was waited on and for
// how long, and how a failure was undone.
func summary(in Inputs, res *helm.Result, derr error) string {
	var b strings.Builder
	outcome := "✅ deployed"
	switch {
	case in.DryRun && derr == nil:
		outcome = "📝 dry run (nothing changed)"
	case res.Interrupted:
		outcome = "⛔ interrupted"
	case derr != nil:
		outcome = "❌ failed"
	}
	fmt.Fprintf(&b, "### deploy: %s — %s\n\n", report.Escape(in.Release), outcome)

	chartCell := fmt.Sprintf("%s %s", res.ChartName, res.ChartVersion)
	if res.AppVersion != "" {
		chartCell += fmt.Sprintf(" (app %s)", res.AppVersion)
	}
	rows := [][]string{
		{"Release", fmt.Sprintf("%s in namespace %s", report.Code(res.Release), report.Code(res.Namespace))},
		{"Chart", chartCell},
	}
	if res.Revision > 0 {
		rows = append(rows, []string{"Revision", fmt.Sprintf("%d (%s)", res.Revision, res.Status)})
	}
	if in.Image != nil {
		rows = append(rows, []string{"Image", report.Code(in.Image.String())})
	}
	if res.Manifest != "" {
		rows = append(rows, []string{"Manifest digest", report.Code(res.ManifestDigest())})
	}
	if res.PreviousRevision > 0 {
		rows = append(rows, []string{"Previous revision", fmt.Sprint(res.PreviousRevision)})
	}
	if res.Recovery != nil {
		rows = append(rows, []string{"Stuck release recovered", res.Recovery.String()})
	}
	if u := strings.TrimPrefix(undone(res), "; "); u != "" {
		if res.Interrupted {
			u += " without waiting (interrupted)"
		}
		rows = append(rows, []string{"After the failure", u})
	}
	if derr != nil {
		rows = append(rows, []string{"Error", derr.Error()})
	}
	b.WriteString(report.Table([]string{"", ""}, rows))
	writeChanges(&b, res)
	writeWaited(&b, res)
	return b.String()
}

func writeChanges(b *strings.Builder, res *helm.Result) {
	if res.Manifest == "" {
		return
	}
	against := "(first install)"
	if res.PreviousRevision > 0 {
		against = fmt.Sprintf("against revision %d", res.PreviousRevision)
	}
	fmt.Fprintf(b, "\n#### Changes %s\n\n", against)
	if len(res.Changes) == 0 {
		b.WriteString("No resource changed.\n")
		return
	}
	var rows [][]string
	for _, c := range res.Changes {
		rows = append(rows, []string{c.Change, c.Kind, qualified(c.Namespace, c.Name)})
	}
	b.WriteString(report.Table([]string{"Change", "Kind", "Name"}, rows))
	for _, c := range res.Changes {
		if c.Change != helm.Changed {
			continue
		}
		fmt.Fprintf(b, "\n<details><summary>%s %s</summary>\n\n", c.Kind, qualified(c.Namespace, c.Name))
		if c.IsSecret() {
			b.WriteString("Secret data is never shown.\n")
		} else {
			fence := "```"
			for strings.Contains(c.Diff, fence) {
				fence += "`"
			}
			fmt.Fprintf(b, "%sdiff\n%s%s\n", fence, c.Diff, fence)
		}
		b.WriteString("\n</details>\n")
	}
}

func writeWaited(b *strings.Builder, res *helm.Result) {
	if len(res.Waited) == 0 {
		return
	}
	fmt.Fprintf(b, "\n#### Waited on (%s in all)\n\n", res.WaitTook.Round(time.Millisecond))
	var rows [][]string
	for _, w := range res.Waited {
		after := "not ready"
		if w.Ready {
			after = w.After.Round(time.Millisecond).String()
		}
		rows = append(rows, []string{w.Kind, qualified(w.Namespace, w.Name), after, strings.TrimSpace(w.Status + ": " + w.Message)})
	}
	b.WriteString(report.Table([]string{"Kind", "Name", "Ready after", "Last status"}, rows))
}

func qualified(ns, n string) string {
	if ns == "" {
		return n
	}
	return ns + "/" + n
}
