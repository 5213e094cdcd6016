package image

import (
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/compress/gzip"
)

// Option configures a Builder.
type Option func(*options) error

type options struct {
	transport     http.RoundTripper
	keychain      authn.Keychain
	insecure      map[string]bool
	reporter      Reporter
	cacheDir      string
	tempDir       string
	jobs          int
	backoff       remote.Backoff
	maxRetryAfter time.Duration
	level         int
	now           func() time.Time
	lookPath      func(string) (string, error)
}

// defaultBackoff retries 5 times over about 30 s: 1, 2, 4, 8, 16 s.
var defaultBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 6}

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		transport:     remote.DefaultTransport,
		keychain:      authn.DefaultKeychain,
		insecure:      map[string]bool{},
		reporter:      ReporterFunc(func(Event) {}),
		jobs:          4,
		backoff:       defaultBackoff,
		maxRetryAfter: time.Minute,
		level:         gzip.BestSpeed,
		now:           time.Now,
		lookPath:      exec.LookPath,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithTransport sets the HTTP transport to registries (default
// remote.DefaultTransport). The Builder adds retries, Retry-After handling
// and upload accounting around it.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("transport is nil")
		}
		o.transport = t
		return nil
	}
}

// WithKeychain sets where registry credentials come from (default
// authn.DefaultKeychain, the docker config). See NewKeychain.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("keychain is nil")
		}
		o.keychain = k
		return nil
	}
}

// WithInsecureRegistries names registry hosts ("localhost:5000") reached
// over plain HTTP.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if h == "" || strings.ContainsAny(h, "/ \t") {
				return fmt.Errorf("insecure registry %q: want a host or host:port", h)
			}
			o.insecure[h] = true
		}
		return nil
	}
}

// WithReporter sends progress events to r (default: none).
func WithReporter(r Reporter) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("reporter is nil")
		}
		o.reporter = r
		return nil
	}
}

// WithCacheDir keeps the layer digest cache in dir (see DefaultCacheDir);
// "" (the default) turns it off. The cache is safe to delete.
func WithCacheDir(dir string) Option {
	return func(o *options) error {
		o.cacheDir = dir
		return nil
	}
}

// WithTempDir sets where layers missing from the cache are compressed
// before upload, in a private directory removed afterwards (default: the
// system's, os.TempDir). It needs room for the compressed context.
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// WithJobs sets how many layers are uploaded at once (default 4), and
// the most compressed at once, which is also capped by the number of CPUs.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithRetryBackoff sets the backoff between attempts of a registry request
// that failed with 408, 429, 5xx or a broken connection (default: 6 tries,
// 1 s doubling). 401, 403 and 404 are never retried.
func WithRetryBackoff(b remote.Backoff) Option {
	return func(o *options) error {
		if b.Steps < 1 || b.Duration < 0 || b.Factor < 0 {
			return fmt.Errorf("retry backoff %+v: want Steps >= 1 and no negative duration or factor", b)
		}
		o.backoff = b
		return nil
	}
}

// WithMaxRetryAfter caps how long a registry's Retry-After header can make
// a request wait (default 1 minute).
func WithMaxRetryAfter(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("max retry-after %v: want above 0", d)
		}
		o.maxRetryAfter = d
		return nil
	}
}

// WithCompressionLevel sets the gzip level of layers, 1 (fastest, the
// default) to 9 (smallest). Different levels give different digests.
func WithCompressionLevel(level int) Option {
	return func(o *options) error {
		if level < gzip.BestSpeed || level > gzip.BestCompression {
			return fmt.Errorf("compression level %d: want 1 to 9", level)
		}
		o.level = level
		return nil
	}
}

// WithClock replaces time.Now for the timings a Result reports. It never
// affects image contents: those take their times from the Spec.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("clock is nil")
		}
		o.now = now
		return nil
	}
}

// WithLookPath replaces exec.LookPath for finding buildah or docker.
func WithLookPath(f func(string) (string, error)) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("lookPath is nil")
		}
		o.lookPath = f
		return nil
	}
}
