// Command monitoring writes a service's monitoring as code for a cluster
// without the reference chart: the strategy's alerts as a PrometheusRule
// and as a Prometheus rule file, a ServiceMonitor, and a Grafana dashboard,
// from a service file or a few inputs. It reads and writes files only. See
// spec.go for its inputs and outputs, or run it with --help.
package main

import "github.com/fxplatform/deploy-actions/pkg/action"

func main() { action.Main(spec, run) }
