package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryOptions configures StartRegistry. The zero value starts a plain
// HTTP registry without authentication on a free port of 127.0.0.1.
type RegistryOptions struct {
	// Username and Password turn on htpasswd basic authentication. Both or
	// neither must be set.
	Username string
	Password string
	// TLS serves HTTPS with a certificate for 127.0.0.1 and localhost signed
	// by a fresh CA; Registry.CACertPEM and Registry.CertPool expose it.
	TLS bool
	// Port is the port to listen on; 0 picks a free one. A busy port is an
	// error wrapping ErrPortInUse.
	Port int
	// Binary is the docker-registry program; empty looks it up on PATH
	// (and installs the Debian package docker-registry when it can).
	Binary string
	// StartTimeout bounds the wait for the registry to answer; default 30s.
	StartTimeout time.Duration
	// LookPath and Install replace exec.LookPath and AptInstaller (tests).
	LookPath func(string) (string, error)
	Install  Installer

	detach bool // keep running after this process exits (scripts/sandbox)
}

func (o RegistryOptions) validate() error {
	if (o.Username == "") != (o.Password == "") {
		return errors.New("registry options: Username and Password must be set together")
	}
	if strings.Contains(o.Username, ":") {
		return fmt.Errorf("registry options: Username %q contains ':'", o.Username)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("registry options: Port %d is out of range", o.Port)
	}
	return nil
}

// Registry is a running Debian docker-registry (distribution v2) process.
type Registry struct {
	// Addr is host:port, e.g. "127.0.0.1:40123"; use it as the registry part
	// of image references.
	Addr string
	// Username and Password are the basic-auth credentials, empty if none.
	Username string
	Password string
	// CACertPEM is the PEM certificate of the CA that signed the registry's
	// serving certificate; nil without TLS.
	CACertPEM []byte
	// Dir holds the registry's config, storage, credentials and log.
	Dir string

	proc *process
}

// URL returns the base URL, "http://127.0.0.1:PORT" or "https://...".
func (r *Registry) URL() string {
	if r.CACertPEM != nil {
		return "https://" + r.Addr
	}
	return "http://" + r.Addr
}

// CertPool returns a pool holding the registry's CA, or nil without TLS.
func (r *Registry) CertPool() *x509.CertPool {
	if r.CACertPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CACertPEM)
	return pool
}

// Transport returns an HTTP transport that trusts the registry's CA (for
// go-containerregistry's remote.WithTransport, for example).
func (r *Registry) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if pool := r.CertPool(); pool != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t
}

// LogPath is the file the registry writes its log to.
func (r *Registry) LogPath() string { return filepath.Join(r.Dir, "registry.log") }

// Close stops the registry process. Its directory is left for inspection.
func (r *Registry) Close() error {
	if r == nil || r.proc == nil {
		return nil
	}
	return r.proc.stop(10 * time.Second)
}

// StartRegistry starts Debian's docker-registry on 127.0.0.1 with its
// config, storage and log under dir (created if needed), and returns once it
// answers on /v2/. Stop it with Close. The process is killed when the
// calling process dies.
func StartRegistry(ctx context.Context, dir string, opts RegistryOptions) (*Registry, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	bin := opts.Binary
	if bin == "" {
		install := opts.Install
		if install == nil {
			install = AptInstaller()
		}
		paths, err := findTools(ctx, opts.LookPath, install, toolRegistry)
		if err != nil {
			return nil, err
		}
		bin = paths[toolRegistry.binary]
	} else if _, err := exec.LookPath(bin); err != nil {
		return nil, &MissingPackageError{Binary: bin, Package: toolRegistry.pkg}
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("creating registry directory: %w", err)
	}
	r := &Registry{Username: opts.Username, Password: opts.Password, Dir: dir}
	// A free port can be taken between picking and binding; try again then.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := reservePorts([]string{"registry"}, map[string]int{"registry": opts.Port})
		if err != nil {
			return nil, err
		}
		r.Addr = hostPort(ports["registry"])
		config, err := r.writeConfig(opts)
		if err != nil {
			return nil, err
		}
		proc, err := startProcess(procSpec{name: "registry", path: bin, args: []string{"serve", config}, logPath: r.LogPath(), detach: opts.detach})
		if err != nil {
			return nil, err
		}
		r.proc = proc
		lastErr = waitReady(ctx, proc, opts.StartTimeout, r.ping)
		if lastErr == nil {
			return r, nil
		}
		_ = proc.stop(5 * time.Second)
		if opts.Port != 0 || !logSaysAddrInUse(r.LogPath()) {
			break
		}
	}
	return nil, lastErr
}

// ping succeeds when /v2/ answers 200, or 401 with authentication on.
func (r *Registry) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: r.Transport()}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || (r.Username != "" && resp.StatusCode == http.StatusUnauthorized) {
		return nil
	}
	return fmt.Errorf("GET /v2/: %s", resp.Status)
}

// writeConfig writes config.yml (and htpasswd, TLS files) into r.Dir.
func (r *Registry) writeConfig(opts RegistryOptions) (string, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: info\n  formatter: text\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", filepath.Join(r.Dir, "data"))
	fmt.Fprintf(&b, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&b, "http:\n  addr: %q\n  secret: %q\n", r.Addr, hex.EncodeToString(secret))
	if opts.TLS {
		if r.CACertPEM == nil {
			ca, err := newCertAuthority("deploy-actions sandbox registry CA")
			if err != nil {
				return "", err
			}
			certPath, keyPath, err := writeServingCert(r.Dir, "registry", ca)
			if err != nil {
				return "", fmt.Errorf("writing registry certificate: %w", err)
			}
			r.CACertPEM = ca.certPEM
			fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", certPath, keyPath)
		} else {
			fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", filepath.Join(r.Dir, "registry.crt"), filepath.Join(r.Dir, "registry.key"))
		}
	}
	if opts.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.DefaultCost)
		if err != nil {
			return "", fmt.Errorf("hashing registry password: %w", err)
		}
		htpasswd := filepath.Join(r.Dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: deploy-actions-sandbox\n    path: %q\n", htpasswd)
	}
	fmt.Fprintf(&b, "health:\n  storagedriver:\n    enabled: false\n")
	path := filepath.Join(r.Dir, "config.yml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
