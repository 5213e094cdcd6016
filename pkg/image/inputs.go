package image

import "github.com/fxplatform/deploy-actions/pkg/action"

// RegistryInputs are the registry inputs of every action that reads or
// writes images (build-push, scan, sign): append them to the spec's inputs
// and read them with CredentialsFromInputs and Inputs.Insecure.
var RegistryInputs = []action.Input{
	{Name: "registry-username", Description: "Registry user. Default: the docker config keychain, and GITHUB_ACTOR for ghcr.io."},
	{Name: "registry-password", Sensitive: true, Description: "Registry password or token. Default: the docker config keychain, and GITHUB_TOKEN for ghcr.io."},
	{Name: "insecure-registries", Kind: action.KindList, Description: "Registry hosts reached over plain HTTP (local registries)."},
}

// CredentialsFromInputs reads registry-username and registry-password for
// registry, with the runner's GITHUB_ACTOR and GITHUB_TOKEN for ghcr.io. A
// user without a password, or the reverse, is an input problem.
func CredentialsFromInputs(a *action.Action, in *action.Inputs, registry string) Credentials {
	c := Credentials{
		Registry:    registry,
		Username:    in.String("registry-username"),
		Password:    in.String("registry-password"),
		GitHubActor: a.Getenv("GITHUB_ACTOR"),
		GitHubToken: a.Getenv("GITHUB_TOKEN"),
	}
	if (c.Username == "") != (c.Password == "") {
		in.Fail("registry-password", "registry-username and registry-password go together")
	}
	return c
}
