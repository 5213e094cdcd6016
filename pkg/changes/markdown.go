package changes

import (
	"fmt"
	"strings"

	"github.com/fxplatform/deploy-actions/pkg/report"
)

// MaxListed is how many commits Markdown lists; the rest are counted.
const MaxListed = 20

// Markdown writes the step summary's section on the changes: the stable
// and the candidate revisions, linked to the compare page when it is
// known, then the commits between them with their pull requests (oldest
// first, as on GitHub's compare page; at most MaxListed), or why
// they are not listed. It sits under promote's and rollback's "###"
// heading.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("#### Changes between stable and candidate\n\n")
	switch r.outcome() {
	case outcomeUnknown:
		for _, s := range r.sides() {
			switch {
			case s.err != nil:
				fmt.Fprintf(&b, "The %s image %s could not be read: %s.\n", s.name, report.Code(s.rev.Image), report.Code(oneLine(s.err.Error())))
			case !s.rev.Known():
				fmt.Fprintf(&b, "The %s image %s has no %s label.\n", s.name, report.Code(s.rev.Image), report.Code("org.opencontainers.image.revision"))
			default:
				fmt.Fprintf(&b, "The %s image %s is built from %s.\n", s.name, report.Code(s.rev.Image), report.Code(short(s.rev.Revision)))
			}
		}
		b.WriteString("\nThe commits between them are unknown.\n")
	case outcomeSame:
		fmt.Fprintf(&b, "Stable and candidate are built from the same commit, %s: what changed is not in the code (configuration, base image, build or environment).\n",
			report.Code(short(r.Candidate.Revision)))
	case outcomeUncompared:
		fmt.Fprintf(&b, "Stable → candidate: %s. No GitHub token was given: the commits between them are not listed.\n", r.pair())
	case outcomeFailed:
		fmt.Fprintf(&b, "Stable → candidate: %s. Listing the commits between them failed: %s.\n", r.pair(), report.Code(oneLine(r.CompareErr.Error())))
	case outcomeCompared:
		r.writeComparison(&b)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> [!NOTE]\n> %s.\n", capitalize(oneLine(n)))
	}
	return b.String()
}

func (r Report) writeComparison(b *strings.Builder) {
	cmp := r.Comparison
	switch cmp.Status {
	case "behind":
		fmt.Fprintf(b, "Stable → candidate: %s: the candidate is %s behind the stable commit (an older build); it adds no commits.\n", r.pair(), commits(cmp.BehindBy))
		return
	case "diverged":
		fmt.Fprintf(b, "Stable → candidate: %s: the candidate does not descend from the stable commit (diverged: %d ahead, %d behind). Its commits that the stable one lacks:\n\n",
			r.pair(), cmp.AheadBy, cmp.BehindBy)
	default:
		fmt.Fprintf(b, "Stable → candidate: %s, %s:\n\n", r.pair(), commits(cmp.TotalCommits))
	}
	changes := r.Changes()
	shown := min(len(changes), MaxListed)
	for _, c := range changes[:shown] {
		fmt.Fprintf(b, "- %s %s", link(report.Code(short(c.SHA)), c.URL), inline(c.Title))
		if c.PR > 0 {
			fmt.Fprintf(b, " (%s)", link(fmt.Sprintf("#%d", c.PR), c.PRURL))
		}
		if c.Author != "" {
			fmt.Fprintf(b, " — %s", inline(c.Author))
		}
		b.WriteString("\n")
	}
	if more := cmp.TotalCommits - shown; more > 0 {
		fmt.Fprintf(b, "- …and %d more\n", more)
	}
}

// pair is the two revisions, linked to the compare page when it is known.
func (r Report) pair() string {
	return link(report.Code(short(r.Stable.Revision))+" → "+report.Code(short(r.Candidate.Revision)), r.compareURL())
}

func link(text, url string) string {
	if url == "" {
		return text
	}
	return "[" + text + "](" + url + ")"
}

// inline keeps text that came from a commit or a label from reading as
// markdown: emphasis, links, HTML, code.
func inline(s string) string {
	return oneLine(strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `&lt;`, ">", `&gt;`, "~", `\~`).Replace(s))
}

// oneLine joins the lines of s, and its runs of blanks, with single
// spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
