package action

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Kind says how an input's text is read. It drives --help and tells the CLI
// which flags may be given without a value; the typed getters on [Inputs]
// do the parsing.
type Kind int

// The kinds of input.
const (
	KindString Kind = iota
	KindBool
	KindInt
	KindDuration
	KindPercent
	KindList
	KindLines
	KindMap
	KindEnum
	KindImage
	KindBytes
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindDuration:
		return "duration"
	case KindPercent:
		return "percent"
	case KindList:
		return "list"
	case KindLines:
		return "lines"
	case KindMap:
		return "KEY=VALUE lines"
	case KindEnum:
		return "enum"
	case KindImage:
		return "image"
	case KindBytes:
		return "size"
	default:
		return "string"
	}
}

// Input declares one input of an action. The same declaration serves the
// GitHub Actions environment (INPUT_<NAME>), the CLI flag (--name), --help
// and the action.yml metadata, so a name or default is never written twice.
type Input struct {
	Name        string // kebab-case, as in action.yml
	Description string
	Default     string
	Required    bool
	// Sensitive inputs are masked in the log (line by line) before anything
	// else is printed.
	Sensitive bool
	Kind      Kind
	// Allowed lists the values of an enum input.
	Allowed []string
}

// Output declares one output of an action.
type Output struct {
	Name        string
	Description string
}

// Spec declares an action: its name, inputs and outputs.
type Spec struct {
	Name        string // the binary and action name, e.g. "build-push"
	Description string
	Inputs      []Input
	Outputs     []Output
}

// Input returns the declaration of the named input.
func (s *Spec) Input(name string) (Input, bool) {
	for _, in := range s.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// Validate reports a declaration mistake: an empty or repeated name, an enum
// without values or a default outside them. It guards against programmer
// error, so Main panics on it.
func (s *Spec) Validate() error {
	seen := map[string]bool{}
	for _, in := range s.Inputs {
		if in.Name == "" || strings.ContainsAny(in.Name, " =\n") {
			return fmt.Errorf("spec %q: bad input name %q", s.Name, in.Name)
		}
		if seen[in.Name] {
			return fmt.Errorf("spec %q: input %q declared twice", s.Name, in.Name)
		}
		seen[in.Name] = true
		if in.Kind == KindEnum {
			if len(in.Allowed) == 0 {
				return fmt.Errorf("spec %q: enum input %q has no allowed values", s.Name, in.Name)
			}
			if in.Default != "" && !slices.Contains(in.Allowed, in.Default) {
				return fmt.Errorf("spec %q: input %q default %q is not allowed", s.Name, in.Name, in.Default)
			}
		}
	}
	outs := map[string]bool{}
	for _, out := range s.Outputs {
		if out.Name == "" || outs[out.Name] {
			return fmt.Errorf("spec %q: bad or repeated output name %q", s.Name, out.Name)
		}
		outs[out.Name] = true
	}
	return nil
}

// WriteHelp writes the usage text: the inputs as flags, with their defaults,
// and the outputs.
func (s *Spec) WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [--input value ...]\n\n", s.Name)
	if s.Description != "" {
		fmt.Fprintf(w, "%s\n\n", s.Description)
	}
	fmt.Fprintln(w, "Inputs (flags, or INPUT_<NAME> in the environment as GitHub Actions sets them):")
	for _, in := range s.Inputs {
		kind := in.Kind.String()
		if in.Kind == KindEnum {
			kind = strings.Join(in.Allowed, "|")
		}
		fmt.Fprintf(w, "  --%s %s", in.Name, kind)
		switch {
		case in.Required:
			fmt.Fprint(w, " (required)")
		case in.Default != "":
			fmt.Fprintf(w, " (default %q)", in.Default)
		}
		if in.Sensitive {
			fmt.Fprint(w, " (secret)")
		}
		fmt.Fprintf(w, "\n      %s\n", in.Description)
	}
	if len(s.Outputs) > 0 {
		fmt.Fprintln(w, "\nOutputs (to $GITHUB_OUTPUT, or name=value lines on stdout):")
		for _, out := range s.Outputs {
			fmt.Fprintf(w, "  %s\n      %s\n", out.Name, out.Description)
		}
	}
}
