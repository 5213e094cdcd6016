package monitoring

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// The colours' pod-name pattern matches the names the ReplicaSet
// controller gives, long names cut by the API server included, with the
// colour as its group, and leaves out other workloads' pods.
func TestPodNames(t *testing.T) {
	for _, tc := range []struct {
		deployment string
		pods       map[string]string // name: the colour, or "" for a pod to leave out
	}{
		{"fx-platform", map[string]string{
			"fx-platform-blue-5d4f8b9c7-x2k9p":      "blue",
			"fx-platform-green-7c9b8d6f45-vwxzq":    "green", // a ten-character hash
			"fx-platform-green-6c9d7f8b5-vwxz":      "",      // a suffix of four
			"fx-platform-blue-migrate-7xk2p":        "",      // a Job's
			"fx-platform-blue-k8s-7xk2p":            "",      // 'k' is in no hash
			"fx-platform-blue-db-migrate-x7k2p":     "",
			"fx-platform-worker-7f6d5c4b3-qwrt5":    "",
			"fx-platform-blue-5d4f8b9c7-x2k9p-copy": "",
			"fx-platformx-blue-5d4f8b9c7-x2k9p":     "",
		}},
		{"fx.platform", map[string]string{
			"fx.platform-blue-5d4f8b9c7-x2k9p": "blue",
			"fx-platform-blue-5d4f8b9c7-x2k9p": "", // the dot is not any character
		}},
		{strings.Repeat("a", 42), map[string]string{
			// <replicaset>- cut to 58 characters inside the hash, then 5.
			(strings.Repeat("a", 42) + "-green-7c9b8d6f45-")[:58] + "vwxzq": "green",
			(strings.Repeat("a", 42) + "-blue-7c9b8d6f45-")[:58] + "vwxzq":  "blue",
			strings.Repeat("a", 42) + "-blue-5d4f8b9c7-x2k9p":               "blue",
			strings.Repeat("a", 42) + "-blue-migrate-x2k9p":                 "",
		}},
		{"fx-platform", map[string]string{
			// Hashes as the ReplicaSet controller writes them.
			"fx-platform-blue-" + utilrand.SafeEncodeString(fmt.Sprint(uint32(4294967295))) + "-" + utilrand.String(5): "blue",
			"fx-platform-green-" + utilrand.SafeEncodeString(fmt.Sprint(uint32(7))) + "-" + utilrand.String(5):         "green",
		}},
	} {
		s := Service{Deployment: tc.deployment}
		re := regexp.MustCompile("^(?:" + s.podNames() + ")$")
		for pod, colour := range tc.pods {
			m := re.FindStringSubmatch(pod)
			switch {
			case colour == "" && m != nil:
				t.Errorf("%s matches %s", s.podNames(), pod)
			case colour != "" && (m == nil || m[1] != colour):
				t.Errorf("%s on %s: %q, want the colour %s", s.podNames(), pod, m, colour)
			}
		}
	}
}
