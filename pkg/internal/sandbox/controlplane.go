package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Timeouts for each component to become ready. They bound the waits so a
// broken component is reported instead of hanging; they are not assertions.
const (
	etcdTimeout       = 60 * time.Second
	apiserverTimeout  = 120 * time.Second
	componentTimeout  = 60 * time.Second
	prometheusTimeout = 60 * time.Second
)

// controlPlaneFiles are the credentials and configs the control plane uses.
type controlPlaneFiles struct {
	dir    string
	caCert string
	// kubeletClientCert and Key: how the API server logs in to the
	// kubelet.
	kubeletClientCert, kubeletClientKey string
	serverCert                          string
	serverKey                           string
	saKey                               string
	saPub                               string
	tokenFile                           string
	kubeconfig                          string
	kwokConfig                          string
	token                               string
	caPEM                               []byte
	apiserverAt                         string // https://127.0.0.1:PORT
}

// writeControlPlaneFiles generates a CA and serving certificate for the API
// server, a service-account key pair, an admin token in the system:masters
// group, and a kubeconfig that uses it.
func writeControlPlaneFiles(dir string, apiserverPort int, kwokStages []byte) (*controlPlaneFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f := &controlPlaneFiles{dir: dir, apiserverAt: "https://" + hostPort(apiserverPort)}
	ca, err := newCertAuthority("deploy-actions sandbox kubernetes CA")
	if err != nil {
		return nil, err
	}
	f.caPEM = ca.certPEM
	f.caCert = filepath.Join(dir, "ca.crt")
	if f.serverCert, f.serverKey, err = writeServingCert(dir, "kube-apiserver", ca); err != nil {
		return nil, fmt.Errorf("writing API server certificate: %w", err)
	}
	// The API server's client certificate towards the kubelet (logs,
	// exec, port-forward), in system:masters, which the kubelet's webhook
	// authorization lets through.
	certPEM, keyPEM, err := ca.issueClient("kube-apiserver-kubelet-client", "system:masters")
	if err != nil {
		return nil, fmt.Errorf("writing the API server's kubelet client certificate: %w", err)
	}
	f.kubeletClientCert, f.kubeletClientKey = filepath.Join(dir, "kubelet-client.crt"), filepath.Join(dir, "kubelet-client.key")
	if err := os.WriteFile(f.kubeletClientCert, certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.kubeletClientKey, keyPEM, 0o600); err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating service-account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	f.saKey, f.saPub = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(f.saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	f.token = hex.EncodeToString(tok)
	f.tokenFile = filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(f.tokenFile, []byte(f.token+`,sandbox-admin,sandbox-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	f.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(f.kubeconfig, []byte(kubeconfigYAML(f.apiserverAt, ca.certPEM, f.token)), 0o600); err != nil {
		return nil, err
	}
	f.kwokConfig = filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(f.kwokConfig, kwokStages, 0o644); err != nil {
		return nil, err
	}
	return f, nil
}

// kubeconfigYAML holds the CA itself, not its path: client-go caches TLS
// transports by their config, a CA file by its path, so a process that
// restarted a sandbox in the same directory kept trusting the old CA.
func kubeconfigYAML(server string, caPEM []byte, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: sandbox-admin
  user:
    token: %s
contexts:
- name: sandbox
  context:
    cluster: sandbox
    user: sandbox-admin
    namespace: default
current-context: sandbox
`, server, base64.StdEncoding.EncodeToString(caPEM), token)
}

func etcdArgs(dataDir string, clientPort, peerPort int) []string {
	client := "http://" + hostPort(clientPort)
	peer := "http://" + hostPort(peerPort)
	return []string{
		"--name=sandbox", "--data-dir=" + dataDir,
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=sandbox=" + peer, "--initial-cluster-state=new",
		"--unsafe-no-fsync=true", // a sandbox does not need durability; it saves disk waits
		"--log-level=warn",
	}
}

func apiserverArgs(f *controlPlaneFiles, port, etcdPort int) []string {
	return []string{
		"--etcd-servers=http://" + hostPort(etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		// The default reconciler refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + f.serverCert, "--tls-private-key-file=" + f.serverKey,
		"--cert-dir=" + filepath.Join(f.dir, "apiserver-certs"),
		"--token-auth-file=" + f.tokenFile, "--authorization-mode=RBAC",
		"--service-account-key-file=" + f.saPub, "--service-account-signing-key-file=" + f.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--allow-privileged=true", "--profiling=false",
		// Logs, exec and port-forward reach the real node's kubelet by its
		// address (its name resolves nowhere), with a client certificate
		// the kubelet trusts (its clientCAFile is this CA).
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate=" + f.kubeletClientCert, "--kubelet-client-key=" + f.kubeletClientKey,
	}
}

// controllerArgs are the flags kube-controller-manager and kube-scheduler
// share: the admin kubeconfig for everything, no leader election, and
// serving /healthz on a loopback port.
func controllerArgs(f *controlPlaneFiles, name string, port int) []string {
	return []string{
		"--kubeconfig=" + f.kubeconfig, "--authentication-kubeconfig=" + f.kubeconfig, "--authorization-kubeconfig=" + f.kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(f.dir, name+"-certs"),
	}
}

func controllerManagerArgs(f *controlPlaneFiles, port int) []string {
	return append(controllerArgs(f, "kube-controller-manager", port),
		"--service-account-private-key-file="+f.saKey, "--root-ca-file="+f.caCert,
		"--use-service-account-credentials=false", "--controllers=*",
		"--cluster-name=sandbox", "--concurrent-deployment-syncs=10")
}

func kwokArgs(f *controlPlaneFiles, port int) []string {
	return []string{
		"--kubeconfig=" + f.kubeconfig, "--config=" + f.kwokConfig,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + fakeNodeAnnotation + "=fake",
		"--server-address=" + hostPort(port), "--cidr=10.244.0.1/16", "--node-ip=127.0.0.1",
	}
}

const fakeNodeAnnotation = "kwok.x-k8s.io/node"

// kwokStageFiles are the Stage documents kwok needs, from its module.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat/node-heartbeat.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

func readKwokStages(moduleDir string) ([]byte, error) {
	var docs []string
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(moduleDir, f))
		if err != nil {
			return nil, fmt.Errorf("reading kwok stage: %w", err)
		}
		docs = append(docs, strings.TrimSpace(string(data)))
	}
	return []byte(strings.Join(docs, "\n---\n") + "\n"), nil
}

// httpCheck returns a readiness check that GETs url and wants status 200.
// insecure skips TLS verification, for components serving self-signed
// certificates they generate themselves; bearer is sent if not empty.
func httpCheck(url string, caPEM []byte, insecure bool, bearer string) func(context.Context) error {
	tlsConfig := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback, self-signed
	if caPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		tlsConfig.RootCAs = pool
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
