package main

import (
	"slices"

	"github.com/fxplatform/deploy-actions/cmd/internal/alerts"
	"github.com/fxplatform/deploy-actions/cmd/internal/cluster"
	"github.com/fxplatform/deploy-actions/cmd/internal/registry"
	"github.com/fxplatform/deploy-actions/cmd/internal/signing"
	"github.com/fxplatform/deploy-actions/pkg/action"
)

var spec = &action.Spec{
	Name:        "verify",
	Description: "Verify a deployed service: health paths, latency/error-rate/throughput SLOs under a load probe, Prometheus checks and the Kubernetes Deployment, reported as the strategy's KPI table. No data is never a pass.",
	Inputs: slices.Concat([]action.Input{
		{Name: "url", Description: "Base URL of the service, e.g. https://staging.example.com (required unless only prometheus-checks or deployment are given). Requests go to this host only."},
		{Name: "health-paths", Kind: action.KindLines, Default: "/api/health\n/api/health/database\n/api/health/external",
			Description: "Newline list of paths that must answer 2xx (and, for a JSON body with a \"status\" field, ok/healthy/up)."},
		{Name: "health-timeout", Kind: action.KindDuration, Default: "2m", Description: "How long to keep retrying health (and waiting for the Deployment) before failing."},
		{Name: "load-path", Description: "Path for the load probe (default: the first health path)."},
		{Name: "load-requests", Kind: action.KindInt, Default: "1000", Description: "Requests the load probe sends; 0 turns it off."},
		{Name: "load-concurrency", Kind: action.KindInt, Default: "10", Description: "Requests in flight: closed loop, each worker sends as soon as its previous request returns."},
		{Name: "load-rate", Kind: action.KindInt, Description: "Fixed rate in requests per second instead of the closed loop (still at most load-concurrency in flight)."},
		{Name: "max-p95-latency", Kind: action.KindDuration, Default: "500ms", Description: "Highest acceptable p95 latency of the load probe."},
		{Name: "max-error-rate", Kind: action.KindPercent, Default: "0.1%", Description: "Highest acceptable share of failed probe requests (non-2xx/3xx or no answer)."},
		{Name: "min-throughput", Default: "1000/min", Description: "Lowest acceptable rate of successful probe requests: 1000/min, 20/s (a plain number is per minute)."},
		{Name: "prometheus-url", Description: "Prometheus base URL for prometheus-checks and the firing-alerts gate (alert-gate), e.g. http://prometheus:9090."},
		{Name: "prometheus-checks", Description: "YAML list of {name, query, max|min, unit[, samples, min-samples]}; a query must return one scalar or a one-element vector. Queries may use {{.Namespace}} and {{.Deployment}}."},
		{Name: "min-samples", Kind: action.KindInt, Default: "100", Description: "Request count (from a check's samples query) below which a Prometheus check is inconclusive, never a pass."},
		{Name: "namespace", Description: "Namespace of the Deployment (default: the kubeconfig context's)."},
		{Name: "service", Description: "The live Service, for the alert gate's default alert-matchers (its service label). Empty: the gate matches the namespace's alerts."},
		{Name: "deployment", Description: "Deployment that must be Available with no unavailable replicas, observedGeneration current and no container restarts since its rollout began. kubeconfig and context say where."},
		{Name: "report-file", Description: "Where to write the JSON report (default: $RUNNER_TEMP/verify-report.json when RUNNER_TEMP is set)."},
		{Name: "attest", Kind: action.KindBool, Default: "false", Description: "Record the result on image as a signed in-toto attestation, passed or failed (predicate type https://fxplatform.github.io/deploy-actions/predicates/verification/v1, short name verification: environment, URL, every KPI with its target and value, verdict, time, workflow run), signed with key or keyless as sign signs. deploy and promote can then require a fresh passing one (verify-attestations: verification). The exit code is verify's either way. With deployment, the record is written only if every pod of that Deployment's current rollout runs image (by the digest the runtime resolved; a pod not yet started, by the digest it asks for): otherwise verify did not check it, and it exits 1 with nothing recorded."},
		{Name: "image", Kind: action.KindImage, Description: "With attest: the image verified, repo@sha256:... (a tag is refused): the digest the record is about."},
		{Name: "environment", Description: "With attest: where the image was verified, e.g. staging; the gate's verify-verification-environment must name it."},
	}, cluster.Inputs, alerts.Inputs, signing.Inputs, registry.Inputs),
	Outputs: []action.Output{
		{Name: "passed", Description: "true or false."},
		{Name: "p50", Description: "Median probe latency, ms."},
		{Name: "p95", Description: "95th percentile probe latency, ms."},
		{Name: "p99", Description: "99th percentile probe latency, ms."},
		{Name: "error-rate", Description: "Failed probe requests, %."},
		{Name: "throughput", Description: "Successful probe requests per minute."},
		{Name: "report-file", Description: "Path of the JSON report."},
		{Name: "attestation-ref", Description: "With attest: where the verification record was attached, <repo>:sha256-<hex>.att."},
		{Name: "predicate-type", Description: "With attest: the record's predicate type, https://fxplatform.github.io/deploy-actions/predicates/verification/v1."},
	},
}
