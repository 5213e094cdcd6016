package kube

import (
	"errors"

	"github.com/fxplatform/deploy-actions/pkg/action"
)

// FromInputs loads the cluster credentials every Kubernetes action takes
// the same way: the kubeconfig input (content or path), else $KUBECONFIG,
// else the in-cluster service account, with the context input. A problem
// is recorded against the input it comes from; nothing is contacted.
func FromInputs(a *action.Action, in *action.Inputs) *Config {
	c, err := Load(Source{Kubeconfig: in.String("kubeconfig"), EnvKubeconfig: a.Getenv("KUBECONFIG"), Context: in.String("context")})
	switch {
	case errors.Is(err, ErrContextNotFound):
		in.Fail("context", "%v", err)
	case err != nil:
		in.Fail("kubeconfig", "%v", err)
	}
	return c
}
