package kube

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

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

// A NameRule is the API server's rule for one kind of name.
type NameRule struct {
	what  string
	check func(string) []string
}

// The rules the actions' inputs name objects by.
var (
	NamespaceName  = NameRule{"namespace", validation.IsDNS1123Label}
	ServiceName    = NameRule{"Service name", validation.IsDNS1035Label}
	DeploymentName = NameRule{"Deployment name", validation.IsDNS1123Subdomain}
	LabelKey       = NameRule{"label key", validation.IsQualifiedName}
)

// NameInput reads an input that names an object (or a label key) and
// records a problem, before anything is contacted, when the API server
// would refuse the name, or the name the action makes of it by appending
// suffix (the colours' "-green"). An input that is not set is "".
func NameInput(in *action.Inputs, input string, rule NameRule, suffix string) string {
	v := in.String(input)
	if v == "" {
		return v
	}
	if errs := rule.check(v + suffix); len(errs) > 0 {
		if suffix != "" {
			in.Fail(input, "%q makes the %s %q, which is not valid: %s", v, rule.what, v+suffix, strings.Join(errs, "; "))
		} else {
			in.Fail(input, "%q is not a valid %s: %s", v, rule.what, strings.Join(errs, "; "))
		}
	}
	return v
}
