// Package cluster is the cluster input group of every action that talks to
// Kubernetes (deploy, verify, promote, rollback, control): the inputs
// kubeconfig and context, the checks of the object names the other inputs
// give, and the masking of the credentials. It returns a plain *kube.Config.
package cluster

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/kube"
	"github.com/fxplatform/deploy-actions/pkg/traffic"
)

// Inputs are the group's inputs, added to an action's spec.
var Inputs = []action.Input{
	{Name: "kubeconfig", Sensitive: true, Description: "Kubeconfig content or path. Default: $KUBECONFIG, then the in-cluster service account."},
	{Name: "context", Description: "Kubeconfig context (default: its current-context)."},
}

// Parse loads the cluster credentials: the kubeconfig input (content or
// path), else $KUBECONFIG, else the in-cluster service account, with the
// context input. A problem is recorded against the input it comes from;
// nothing is contacted. The credentials in it are masked at once, so no
// later line can print them. It returns nil after a problem.
func Parse(a *action.Action, in *action.Inputs) *kube.Config {
	c, err := kube.Load(kube.Source{Kubeconfig: in.String("kubeconfig"), EnvKubeconfig: a.Getenv("KUBECONFIG"), Context: in.String("context")})
	switch {
	case errors.Is(err, kube.ErrContextNotFound):
		in.Fail("context", "%v", err)
		return nil
	case err != nil:
		in.Fail("kubeconfig", "%v", err)
		return nil
	}
	for _, s := range c.Secrets() {
		a.Mask(s)
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

// Name reads an input that names an object (or a label key) and records a
// problem, before anything is contacted, when the API server would refuse
// the name, or the name the action makes of it by appending suffix (the
// colours' "-green"). An input that is not set is "".
func Name(in *action.Inputs, input string, rule NameRule, suffix string) string {
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

// App reads the inputs that name a blue-green app (namespace, service,
// deployment, color-label) and checks them as the API server would, the
// colours' "-green" included. Inputs that are not set are "".
func App(in *action.Inputs) traffic.App {
	return traffic.App{
		Namespace: Name(in, "namespace", NamespaceName, ""),
		Service:   Name(in, "service", ServiceName, ""),
		// The colours' Deployments are <deployment>-blue and <deployment>-green.
		Deployment: Name(in, "deployment", DeploymentName, "-green"),
		ColorLabel: Name(in, "color-label", LabelKey, ""),
	}
}
