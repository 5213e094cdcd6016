package image

import (
	"github.com/google/go-containerregistry/pkg/authn"
)

// Credentials say how to log in to registries. The caller fills them from
// its inputs and environment (GITHUB_ACTOR, GITHUB_TOKEN); this package
// reads no environment variable.
type Credentials struct {
	// Registry is the host Username and Password are for, e.g. "ghcr.io"
	// or "localhost:5000" (for Docker Hub, "index.docker.io").
	Registry           string
	Username, Password string
	// GitHubActor and GitHubToken log in to ghcr.io when nothing else does.
	GitHubActor, GitHubToken string
}

// GitHubRegistry is the registry GitHub tokens are good for.
const GitHubRegistry = "ghcr.io"

// NewKeychain returns a keychain that tries, in order: the explicit
// username and password for c.Registry, the fallback keychain (usually
// authn.DefaultKeychain, which reads the docker config and its credential
// helpers), and the GitHub actor and token for ghcr.io. Registries none of
// them knows are reached anonymously.
func NewKeychain(c Credentials, fallback authn.Keychain) authn.Keychain {
	chain := []authn.Keychain{}
	if c.Username != "" || c.Password != "" {
		chain = append(chain, hostKeychain{host: c.Registry, auth: &authn.Basic{Username: c.Username, Password: c.Password}})
	}
	if fallback != nil {
		chain = append(chain, fallback)
	}
	if c.GitHubToken != "" {
		user := c.GitHubActor
		if user == "" {
			user = "x-access-token"
		}
		chain = append(chain, hostKeychain{host: GitHubRegistry, auth: &authn.Basic{Username: user, Password: c.GitHubToken}})
	}
	return authn.NewMultiKeychain(chain...)
}

// hostKeychain gives one authenticator for one registry host.
type hostKeychain struct {
	host string
	auth authn.Authenticator
}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host || (k.host == "docker.io" && r.RegistryStr() == "index.docker.io") {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}
