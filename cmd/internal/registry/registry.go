// Package registry is the registry input group of every action that reads
// or writes images (build-push, scan, sign): registry-username,
// registry-password and insecure-registries, read into the one
// image.Remote every registry client of the action uses.
package registry

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fxplatform/deploy-actions/pkg/action"
	"github.com/fxplatform/deploy-actions/pkg/image"
)

// Inputs are the group's inputs, added to an action's spec.
var Inputs = []action.Input{
	{Name: "registry-username", Description: "Registry user. Default: the docker config keychain, and GITHUB_ACTOR for ghcr.io."},
	{Name: "registry-password", Sensitive: true, Description: "Registry password or token. Default: the docker config keychain, and GITHUB_TOKEN for ghcr.io."},
	{Name: "insecure-registries", Kind: action.KindList, Description: "Registry hosts reached over plain HTTP (local registries)."},
}

// Group is the parsed group.
type Group struct {
	// Credentials are for the registry of the action's image input.
	Credentials image.Credentials
	// Insecure are the hosts reached over plain HTTP.
	Insecure []string
}

// Parse reads the group, with credentials for host (the registry of the
// image the action reads or writes; "" when there is none). A user
// without a password, or the reverse, is an input problem. ghcr.io is
// logged in to with the runner's GITHUB_ACTOR and GITHUB_TOKEN when
// nothing else does.
func Parse(a *action.Action, in *action.Inputs, host string) Group {
	g := Group{
		Credentials: Runner(a, host),
		Insecure:    in.List("insecure-registries"),
	}
	for _, h := range g.Insecure {
		// The same rule as image.WithInsecureRegistries, and ggcr's for a
		// registry name, checked here so that a bad host is an input
		// problem before any request (scan and sign did not check it).
		if _, err := name.NewRegistry(h, name.StrictValidation); err != nil || strings.ContainsAny(h, "/ \t") {
			in.Fail("insecure-registries", "%q is not a registry host (want host or host:port, e.g. localhost:5000)", h)
		}
	}
	g.Credentials.Username = in.String("registry-username")
	g.Credentials.Password = in.String("registry-password")
	if (g.Credentials.Username == "") != (g.Credentials.Password == "") {
		in.Fail("registry-password", "registry-username and registry-password go together")
	}
	return g
}

// Runner are the credentials an action without registry inputs (the
// signature gate of deploy and promote) has for host: the runner's
// GITHUB_ACTOR and GITHUB_TOKEN, for ghcr.io.
func Runner(a *action.Action, host string) image.Credentials {
	gh, _ := a.Context() // a context that does not parse is reported where it matters
	// GITHUB_TOKEN is not runner context: the workflow sets it in env.
	return image.Credentials{Registry: host, GitHubActor: gh.Actor, GitHubToken: a.Getenv("GITHUB_TOKEN")}
}

// Remote is how the action reaches registries: these credentials before
// the docker config keychain, plain HTTP to the insecure hosts, retries
// and Retry-After, and a user agent naming the action.
func (g Group) Remote(a *action.Action) image.Remote {
	return image.Remote{
		Keychain:  image.NewKeychain(g.Credentials, authn.DefaultKeychain),
		Insecure:  g.Insecure,
		UserAgent: "deploy-actions/" + a.Spec().Name,
	}
}
