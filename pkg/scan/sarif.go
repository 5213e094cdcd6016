package scan

import (
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// ToolName and ToolURI name the scanner in SARIF reports.
const (
	ToolName = "deploy-actions scan"
	ToolURI  = "https://github.com/fxplatform/deploy-actions"
)

// WriteSARIF writes every finding of r as SARIF 2.1.0, whatever the
// threshold: ignored findings carry a suppression with the ignore's reason.
// Locations are the files the packages were found in, relative to the image
// root, as GitHub code scanning requires a relative artifact location with
// a line.
func WriteSARIF(w io.Writer, r *Report) error {
	rep := sarif.NewReport()
	run := sarif.NewRunWithInformationURI(ToolName, ToolURI)
	for _, f := range r.Findings {
		rule := run.AddRule(f.ID)
		if rule.ShortDescription == nil {
			describeRule(rule, f)
		}
		res := sarif.NewResult()
		res.RuleID = ptr(f.ID)
		res.Level = level(f.Severity)
		res.Message = sarif.NewMessage()
		res.Message.Text = ptr(resultText(f))
		for _, uri := range locationURIs(f) {
			loc := sarif.NewPhysicalLocation()
			loc.ArtifactLocation = sarif.NewSimpleArtifactLocation(uri)
			loc.Region = sarif.NewRegion()
			loc.Region.StartLine = ptr(1)
			res.Locations = append(res.Locations, sarif.NewLocationWithPhysicalLocation(loc))
		}
		res.PartialFingerprints = map[string]string{"packageVersion": f.Ecosystem + "/" + f.Package + "@" + f.Version}
		if f.Ignored != nil {
			s := sarif.NewSuppression()
			s.Kind = ptr("external")
			s.Justification = ptr(f.Ignored.Reason)
			res.Suppressions = append(res.Suppressions, s)
		}
		run.AddResult(res)
	}
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}

func describeRule(rule *sarif.ReportingDescriptor, f Finding) {
	short := f.Summary
	if short == "" {
		short = fmt.Sprintf("%s in %s", f.ID, f.Package)
	}
	rule.ShortDescription = sarif.NewMultiformatMessageString()
	rule.ShortDescription.Text = ptr(short)
	rule.FullDescription = sarif.NewMultiformatMessageString()
	rule.FullDescription.Text = ptr(short)
	rule.HelpURI = ptr("https://osv.dev/vulnerability/" + f.ID)
	help := fmt.Sprintf("%s: %s\nSeverity: %s", f.ID, short, f.Rating)
	rule.Help = sarif.NewMultiformatMessageString()
	rule.Help.Text = ptr(help)
	rule.Help.Markdown = ptr(fmt.Sprintf("**[%s](https://osv.dev/vulnerability/%s)**: %s\n\nSeverity: %s", f.ID, f.ID, short, f.Rating))
	props := sarif.NewPropertyBag()
	props.Add("security-severity", securitySeverity(f))
	props.WithTags([]string{"security", "vulnerability", f.Rating})
	rule.Properties = props
}

// securitySeverity is the score GitHub code scanning ranks alerts by: the
// CVSS score, or the middle of the rating's band.
func securitySeverity(f Finding) string {
	if f.Score > 0 {
		return fmt.Sprintf("%.1f", f.Score)
	}
	return map[Severity]string{Critical: "9.5", High: "8.0", Medium: "5.5", Low: "2.0", Unknown: "0.0"}[f.Severity]
}

func level(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

func resultText(f Finding) string {
	fixed := "no fixed version"
	if len(f.Fixed) > 0 {
		fixed = "fixed in " + strings.Join(f.Fixed, ", ")
	}
	return fmt.Sprintf("%s %s (%s) is affected by %s (%s severity); %s.", f.Package, f.Version, f.Ecosystem, f.ID, f.Rating, fixed)
}

// locationURIs are the result's locations: every file the package was
// found in (GitHub code scanning shows the first and lists the others).
func locationURIs(f Finding) []string {
	if len(f.Locations) == 0 {
		return []string{"image"}
	}
	out := make([]string, len(f.Locations))
	for i, l := range f.Locations {
		out[i] = strings.TrimPrefix(l.Path, "/")
	}
	return out
}

func ptr[T any](v T) *T { return &v }
