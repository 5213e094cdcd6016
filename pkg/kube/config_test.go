package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
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
	run := map[string]string{"GITHUB_REPOSITORY": "acme/fx", "GITHUB_RUN_ID": "42"}
	tests := []struct {
		name, role string
		env        map[string]string
		want       string
	}{
		{name: "workflow run", env: run, want: "acme/fx/runs/42"},
		{name: "workflow run, rollback", env: run, role: "rollback", want: "acme/fx/runs/42/rollback"},
		{name: "outside a runner", env: map[string]string{}, want: fmt.Sprintf("/pid-%d", os.Getpid())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Holder(func(k string) string { return tc.env[k] }, tc.role)
			if !strings.HasSuffix(got, tc.want) {
				t.Errorf("Holder = %q, want it to end in %q", got, tc.want)
			}
		})
	}
}

func TestNameInput(t *testing.T) {
	spec := &action.Spec{Name: "names", Inputs: []action.Input{
		{Name: "namespace", Description: "n"}, {Name: "service", Description: "s"},
		{Name: "deployment", Description: "d"}, {Name: "color-label", Description: "l"},
	}}
	long := strings.Repeat("a", 248) // 253 characters with "-blue", 254 with "-green"
	tests := []struct {
		name   string
		inputs map[string]string
		want   string // the error, "" for none
	}{
		{name: "valid", inputs: map[string]string{"namespace": "fx-prod", "service": "fx-platform", "deployment": "fx.platform", "color-label": "app.kubernetes.io/version"}},
		{name: "not set", inputs: map[string]string{}},
		{name: "namespace with capitals", inputs: map[string]string{"namespace": "Prod_1"}, want: `input "namespace": "Prod_1" is not a valid namespace`},
		{name: "namespace with a dot", inputs: map[string]string{"namespace": "fx.prod"}, want: `input "namespace": "fx.prod" is not a valid namespace`},
		{name: "Service starting with a digit", inputs: map[string]string{"service": "1fx"}, want: `input "service": "1fx" is not a valid Service name`},
		{name: "Deployment with an underscore", inputs: map[string]string{"deployment": "fx_platform"}, want: `input "deployment": "fx_platform" makes the Deployment name "fx_platform-green", which is not valid`},
		{name: "colour too long", inputs: map[string]string{"deployment": long}, want: `input "deployment": "` + long + `" makes the Deployment name "` + long + `-green", which is not valid`},
		{name: "label key with a space", inputs: map[string]string{"color-label": "a b"}, want: `input "color-label": "a b" is not a valid label key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := actiontest.New(t, tc.inputs)
			r.Run(context.Background(), spec, func(ctx context.Context, a *action.Action) error {
				in := a.Inputs()
				got := []string{
					NameInput(in, "namespace", NamespaceName, ""),
					NameInput(in, "service", ServiceName, ""),
					NameInput(in, "deployment", DeploymentName, "-green"),
					NameInput(in, "color-label", LabelKey, ""),
				}
				err := in.Err()
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("error = %v, want none", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("error = %v, want one containing %q", err, tc.want)
				}
				for i, name := range []string{"namespace", "service", "deployment", "color-label"} {
					if got[i] != tc.inputs[name] {
						t.Errorf("%s = %q, want the input's %q", name, got[i], tc.inputs[name])
					}
				}
				return nil
			})
		})
	}
}
