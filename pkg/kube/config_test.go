package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

const kubeconfigYAML = `apiVersion: v1
kind: Config
current-context: sandbox
clusters:
- name: sandbox
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
- name: other
  cluster:
    server: https://127.0.0.1:7443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: sandbox-admin-token-123
- name: basic
  user:
    username: u
    password: hunter2-password
contexts:
- name: sandbox
  context: {cluster: sandbox, user: admin, namespace: staging}
- name: other
  context: {cluster: other, user: basic}
`

func notInCluster() (*rest.Config, error) { return nil, rest.ErrNotInCluster }

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	noContext := filepath.Join(dir, "nocontext")
	if err := os.WriteFile(noContext, []byte(strings.Replace(kubeconfigYAML, "current-context: sandbox\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		src        Source
		wantHost   string
		wantNS     string
		wantErr    string
		wantCtxErr bool
	}{
		{name: "inline content", src: Source{Kubeconfig: kubeconfigYAML}, wantHost: "https://127.0.0.1:6443", wantNS: "staging"},
		{name: "path", src: Source{Kubeconfig: path}, wantHost: "https://127.0.0.1:6443", wantNS: "staging"},
		{name: "path with context", src: Source{Kubeconfig: path, Context: "other"}, wantHost: "https://127.0.0.1:7443", wantNS: "default"},
		{name: "env list", src: Source{EnvKubeconfig: filepath.Join(dir, "missing") + string(filepath.ListSeparator) + path}, wantHost: "https://127.0.0.1:6443"},
		{name: "input wins over env", src: Source{Kubeconfig: path, EnvKubeconfig: noContext, Context: "other"}, wantHost: "https://127.0.0.1:7443"},
		{name: "unknown context", src: Source{Kubeconfig: path, Context: "prod"}, wantErr: `"prod"`, wantCtxErr: true},
		{name: "no current context", src: Source{Kubeconfig: noContext}, wantErr: "no current-context"},
		{name: "unparsable content", src: Source{Kubeconfig: "apiVersion: v1\nclusters: [oops"}, wantErr: "parsing the kubeconfig"},
		{name: "missing file", src: Source{Kubeconfig: filepath.Join(dir, "nope")}, wantErr: "reading the kubeconfig file"},
		{name: "nothing and not in a cluster", src: Source{InCluster: notInCluster}, wantErr: "not in a cluster"},
		{name: "in cluster", src: Source{InCluster: func() (*rest.Config, error) {
			return &rest.Config{Host: "https://10.0.0.1:443", BearerToken: "sa-token"}, nil
		}}, wantHost: "https://10.0.0.1:443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.src.InCluster == nil {
				tc.src.InCluster = notInCluster
			}
			c, err := Load(tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load() error = %v, want one containing %q", err, tc.wantErr)
				}
				if got := errors.Is(err, ErrContextNotFound); got != tc.wantCtxErr {
					t.Errorf("errors.Is(err, ErrContextNotFound) = %v, want %v", got, tc.wantCtxErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got := c.Host(); got != tc.wantHost {
				t.Errorf("Host() = %q, want %q", got, tc.wantHost)
			}
			if tc.wantNS != "" && c.Namespace() != tc.wantNS {
				t.Errorf("Namespace() = %q, want %q", c.Namespace(), tc.wantNS)
			}
			if _, err := c.Getter().ToRESTConfig(); err != nil {
				t.Errorf("ToRESTConfig() error = %v", err)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	c, err := Load(Source{Kubeconfig: kubeconfigYAML})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Secrets()
	for _, want := range []string{"sandbox-admin-token-123", "hunter2-password"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets() = %q, missing %q", got, want)
		}
	}
	if slices.Contains(got, "u") {
		t.Errorf("Secrets() = %q lists the user name", got)
	}
}

func FuzzLoadInline(f *testing.F) {
	f.Add(kubeconfigYAML)
	f.Add("apiVersion: v1\n{")
	f.Fuzz(func(t *testing.T, s string) {
		// Any input either loads or errors; it never panics.
		_, _ = Load(Source{Kubeconfig: s, InCluster: notInCluster})
	})
}

func TestHolder(t *testing.T) {
	tests := []struct {
		name, role, repository string
		runID                  int64
		want                   string
	}{
		{name: "workflow run", repository: "acme/fx", runID: 42, want: "acme/fx/runs/42"},
		{name: "workflow run, rollback", repository: "acme/fx", runID: 42, role: "rollback", want: "acme/fx/runs/42/rollback"},
		{name: "outside a runner", want: fmt.Sprintf("/pid-%d", os.Getpid())},
		{name: "a repository without a run", repository: "acme/fx", want: fmt.Sprintf("/pid-%d", os.Getpid())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Holder(tc.repository, tc.runID, tc.role)
			if !strings.HasSuffix(got, tc.want) {
				t.Errorf("Holder = %q, want it to end in %q", got, tc.want)
			}
		})
	}
}
