package action

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ActionYAML renders the composite action metadata (actions/<name>/action.yml)
// for spec: its inputs and outputs with the same names, descriptions and
// defaults as the binary, and one step that runs the binary through
// scripts/run-action. Inputs reach the binary through the environment only
// (INPUT_<NAME>), never spliced into a shell line, so an input such as
// $(touch /tmp/pwned) stays data.
func ActionYAML(spec *Spec) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Generated from cmd/%s/spec.go by `go test ./cmd/%s -update`. Do not edit.\n", spec.Name, spec.Name)
	fmt.Fprintf(&b, "name: %s\n", quote("deploy-actions "+spec.Name))
	fmt.Fprintf(&b, "description: %s\n", quote(spec.Description))
	b.WriteString("author: fxplatform\n")
	b.WriteString("inputs:\n")
	for _, in := range spec.Inputs {
		fmt.Fprintf(&b, "  %s:\n", in.Name)
		fmt.Fprintf(&b, "    description: %s\n", quote(in.Description))
		fmt.Fprintf(&b, "    required: %t\n", in.Required)
		if in.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", quote(in.Default))
		}
	}
	b.WriteString("outputs:\n")
	for _, out := range spec.Outputs {
		fmt.Fprintf(&b, "  %s:\n", out.Name)
		fmt.Fprintf(&b, "    description: %s\n", quote(out.Description))
		fmt.Fprintf(&b, "    value: ${{ steps.run.outputs.%s }}\n", out.Name)
	}
	b.WriteString("runs:\n  using: composite\n  steps:\n")
	b.WriteString("    - id: run\n      shell: bash\n      env:\n")
	fmt.Fprintf(&b, "        DEPLOY_ACTIONS_BINARY: %s\n", spec.Name)
	b.WriteString("        DEPLOY_ACTIONS_REF: ${{ github.action_ref }}\n")
	b.WriteString("        DEPLOY_ACTIONS_REPOSITORY: ${{ github.action_repository }}\n")
	// The job's token, for ghcr.io logins and release downloads; the runner
	// masks it.
	b.WriteString("        GITHUB_TOKEN: ${{ github.token }}\n")
	for _, in := range spec.Inputs {
		fmt.Fprintf(&b, "        %s: ${{ inputs.%s }}\n", EnvName(in.Name), in.Name)
	}
	b.WriteString("      run: '\"$GITHUB_ACTION_PATH/../../scripts/run-action\"'\n")
	return b.Bytes()
}

// EnvName is the environment variable a composite action sets for an
// input: INPUT_ and the name upper-cased with '-' as '_', since a shell
// cannot name a variable with '-'. The runtime reads both spellings.
func EnvName(input string) string {
	return "INPUT_" + strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(input))
}

// quote renders s as a YAML double-quoted scalar (JSON strings are valid
// YAML), so that ':' or '#' in a description cannot change the document.
func quote(s string) string {
	js, _ := json.Marshal(s)
	return string(js)
}

// MarkdownReference renders the README's reference for spec: a table of its
// inputs with their defaults, and one of its outputs, from the same
// declaration as the binary and its action.yml.
func MarkdownReference(spec *Spec) string {
	var b strings.Builder
	b.WriteString("| input | default | meaning |\n|---|---|---|\n")
	for _, in := range spec.Inputs {
		def := ""
		switch {
		case in.Required:
			def = "(required)"
		case in.Default != "":
			def = "`" + in.Default + "`"
		}
		desc := in.Description
		if in.Sensitive {
			desc += " (masked)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", in.Name, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	b.WriteString("\n| output | meaning |\n|---|---|\n")
	for _, out := range spec.Outputs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", out.Name, strings.ReplaceAll(out.Description, "|", `\|`))
	}
	return b.String()
}
