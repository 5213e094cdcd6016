package image

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// dockerfileBases returns the registries of the images a Dockerfile's
// stages start from (FROM), its ARGs' defaults and args filled in; stages
// built on earlier stages and scratch have none.
func dockerfileBases(path string, args map[string]string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ast, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	// As Docker does: the ARGs before the first FROM in order, each default
	// expanded with the ones before it and replaced by a build arg of its
	// name; a build arg no such ARG declares does not reach a FROM. The
	// expansion is the Dockerfile's own (${VAR:-default}, ${VAR:+alt}).
	lex := shell.NewLex(ast.EscapeToken)
	var env []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			v, declared := args[kv.Key]
			if !declared && kv.Value != nil {
				if v, _, err = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env)); err != nil {
					return nil, fmt.Errorf("reading %s: ARG %s: %w", path, kv.Key, err)
				}
				declared = true
			}
			if declared {
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	vars := shell.EnvsFromSlice(env)
	var names []string
	var registries []string
	for _, st := range stages {
		base, _, err := lex.ProcessWord(st.BaseName, vars)
		if err != nil {
			return nil, fmt.Errorf("reading %s: FROM %s: %w", path, st.BaseName, err)
		}
		if base != "scratch" && !slices.Contains(names, strings.ToLower(base)) {
			if ref, err := name.ParseReference(base); err == nil && !slices.Contains(registries, ref.Context().RegistryStr()) {
				registries = append(registries, ref.Context().RegistryStr())
			}
		}
		if st.Name != "" {
			names = append(names, strings.ToLower(st.Name))
		}
	}
	return registries, nil
}

// builderConfig writes, into dir, what buildah needs to pull a Dockerfile's
// base images as the Builder pulls its own: an auth file of the keychain's
// credentials for their registries, and a registries.conf marking the
// insecure ones (plain HTTP). It returns buildah's extra arguments and
// environment; none when no base needs them.
func (b *Builder) builderConfig(spec Spec, dir string) (args, env []string, err error) {
	registries, err := dockerfileBases(spec.Dockerfile, spec.BuildArgs)
	if err != nil {
		return nil, nil, err
	}
	type entry struct {
		Auth string `json:"auth"`
	}
	auths := map[string]entry{}
	var insecure []string
	for _, host := range registries {
		reg, err := name.NewRegistry(host)
		if err != nil {
			continue
		}
		if b.o.insecure[host] {
			insecure = append(insecure, host)
		}
		a, err := b.o.keychain.Resolve(reg)
		if err != nil || a == authn.Anonymous {
			continue
		}
		cfg, err := a.Authorization()
		if err != nil {
			return nil, nil, fmt.Errorf("credentials of %s: %w", host, err)
		}
		switch {
		case cfg.Auth != "":
			auths[host] = entry{cfg.Auth}
		case cfg.Username != "" || cfg.Password != "":
			auths[host] = entry{base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))}
		}
	}
	if len(auths) > 0 {
		data, err := json.Marshal(map[string]any{"auths": auths})
		if err != nil {
			return nil, nil, err
		}
		path := filepath.Join(dir, "auth.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, nil, err
		}
		args = append(args, "--authfile", path)
	}
	if len(insecure) > 0 {
		var conf strings.Builder
		conf.WriteString("unqualified-search-registries = [\"docker.io\"]\n")
		for _, host := range insecure {
			fmt.Fprintf(&conf, "\n[[registry]]\nlocation = %q\ninsecure = true\n", host)
		}
		path := filepath.Join(dir, "registries.conf")
		if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
			return nil, nil, err
		}
		env = append(env, "CONTAINERS_REGISTRIES_CONF="+path)
	}
	return args, env, nil
}
