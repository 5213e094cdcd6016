{{- /*
Monitoring as code (values.yaml, monitoring). Helm cannot call pkg/monitoring,
so these templates write what monitoring.PrometheusRule and
monitoring.ServiceMonitor write for the same service, and the dashboard is
pkg/monitoring's, stored in files/dashboard.json with placeholders; the
tests in pkg/monitoring (chart_test.go) render both and compare.
*/ -}}

{{- /* "true" when this release renders the monitoring objects: the shared
part only. In part all the one Deployment has no colour, and every query
selects the colours' pods (<deployment>-blue-..., -green-...). */ -}}
{{- define "fx-platform.monitoring.enabled" -}}
{{- if and .Values.monitoring.enabled (eq (include "fx-platform.part" .) "shared") }}true{{ end -}}
{{- end -}}

{{- /* A Prometheus duration ("1m30s", "0") in milliseconds, as
model.ParseDuration reads it, or fail naming the value. Called with
(list "<value's path>" value). */ -}}
{{- define "fx-platform.monitoring.ms" -}}
{{- $field := index . 0 -}}
{{- $s := toString (index . 1) -}}
{{- if or (eq $s "") (not (regexMatch "^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$" $s)) -}}
{{- fail (printf "%s: %q is not a Prometheus duration (5m, 1m30s, 500ms)" $field $s) -}}
{{- end -}}
{{- $units := dict "y" 31536000000 "w" 604800000 "d" 86400000 "h" 3600000 "m" 60000 "s" 1000 "ms" 1 -}}
{{- $ms := 0 -}}
{{- range regexFindAll "[0-9]+(ms|[ywdhms])" $s -1 -}}
{{- $unit := regexFind "[a-z]+$" . -}}
{{- $ms = add $ms (mul (atoi (trimSuffix $unit .)) (get $units $unit)) -}}
{{- end -}}
{{- $ms -}}
{{- end -}}

{{- /* A duration as model.Duration's String writes it: 90s is 1m30s, 24h is
1d; years and weeks only when they are whole. Called as monitoring.ms. */ -}}
{{- define "fx-platform.monitoring.duration" -}}
{{- $ms := atoi (include "fx-platform.monitoring.ms" .) -}}
{{- if eq $ms 0 -}}
0s
{{- else -}}
{{- $out := "" -}}
{{- range list (list "y" 31536000000 true) (list "w" 604800000 true) (list "d" 86400000 false) (list "h" 3600000 false) (list "m" 60000 false) (list "s" 1000 false) (list "ms" 1 false) -}}
{{- $mult := index . 1 -}}
{{- if or (not (index . 2)) (eq (mod $ms $mult) 0) -}}
{{- $n := div $ms $mult -}}
{{- if gt $n 0 -}}
{{- $out = printf "%s%d%s" $out $n (index . 0) -}}
{{- $ms = sub $ms (mul $n $mult) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $out -}}
{{- end -}}
{{- end -}}

{{- /* The regular expression of both colours' pod names, the colour its
first group, as monitoring's podNames writes it: <deployment>-<colour>-
<pod-template-hash>-<5 characters>, in the characters Kubernetes makes
those of, so that a Job <deployment>-blue-migrate's pods are left out. A
long name's pods have their prefix cut inside the hash; a name too long to
keep the colour whole fails. Called with the Deployment's base name. */ -}}
{{- define "fx-platform.monitoring.pods" -}}
{{- $chars := "bcdfghjklmnpqrstvwxz2456789" -}}
{{- $colours := printf "%s-(blue|green)" (replace "." "[.]" .) -}}
{{- if gt (len .) 51 -}}
{{- fail (printf "monitoring: the Deployment name %q is longer than 51 characters: the API server cuts the names of %s-green's pods inside the colour, so no query could tell the colours' pods apart" . .) -}}
{{- else if le (add (len .) 18) 58 -}}
{{- printf "%s-[4-9bcdf]{1,10}-[%s]{5}" $colours $chars -}}
{{- else -}}
{{- printf "%s-[%s-]{5,16}" $colours $chars -}}
{{- end -}}
{{- end -}}

{{- /* The service the monitoring objects describe, as JSON (read it with
fromJson): the names, the durations as Prometheus writes them, the
thresholds. It fails on a value monitoring.Service's Check refuses. */ -}}
{{- define "fx-platform.monitoring.service" -}}
{{- $m := .Values.monitoring -}}
{{- $deployment := include "fx-platform.name" . -}}
{{- $out := dict
  "namespace" .Release.Namespace
  "service" (include "fx-platform.serviceName" .)
  "deployment" $deployment
  "colours" (printf "%s-(blue|green)" (replace "." "[.]" $deployment))
  "pods" (include "fx-platform.monitoring.pods" $deployment)
  "metricsPath" .Values.metrics.path
  "requestsMetric" (toString $m.requestsMetric)
  "codeLabel" (toString $m.codeLabel)
  "latencyMetric" (toString $m.latencyMetric)
  "runbookURL" (toString $m.runbookURL)
  "rateWindow" (include "fx-platform.monitoring.duration" (list "monitoring.rateWindow" $m.rateWindow))
  "scrapeInterval" (include "fx-platform.monitoring.duration" (list "monitoring.scrapeInterval" $m.scrapeInterval))
-}}
{{- $for := dict -}}
{{- range $alert := list "deploymentFailure" "errorRate" "latency" "cpu" "memory" -}}
{{- $_ := set $for $alert (include "fx-platform.monitoring.duration" (list (printf "monitoring.for.%s" $alert) (index $m.for $alert))) -}}
{{- end -}}
{{- $_ := set $out "for" $for -}}
{{- $thresholds := dict -}}
{{- range $name := list "errorRatio" "cpu" "memory" -}}
{{- $l := index $m.thresholds $name -}}
{{- $w := float64 $l.warning -}}
{{- $c := float64 $l.critical -}}
{{- if not (and (gt $w 0.0) (le $w 1.0)) -}}
{{- fail (printf "monitoring.thresholds.%s.warning: %v is not a fraction above 0 and at most 1 (0.8 is 80 %%)" $name $l.warning) -}}
{{- else if not (and (gt $c 0.0) (le $c 1.0)) -}}
{{- fail (printf "monitoring.thresholds.%s.critical: %v is not a fraction above 0 and at most 1 (0.9 is 90 %%)" $name $l.critical) -}}
{{- else if ge $w $c -}}
{{- fail (printf "monitoring.thresholds.%s.warning: %v is not below critical %v" $name $l.warning $l.critical) -}}
{{- end -}}
{{- $_ := set $thresholds $name (dict "warning" $w "critical" $c) -}}
{{- end -}}
{{- $latency := dict -}}
{{- range $level := list "warning" "critical" -}}
{{- $args := list (printf "monitoring.thresholds.latency.%s" $level) (index $m.thresholds.latency $level) -}}
{{- $ms := atoi (include "fx-platform.monitoring.ms" $args) -}}
{{- if le $ms 0 -}}
{{- fail (printf "monitoring.thresholds.latency.%s: %v is not positive" $level (index $m.thresholds.latency $level)) -}}
{{- end -}}
{{- /* In seconds, rounded once, as monitoring's seconds. */ -}}
{{- $_ := set $latency $level (dict "ms" $ms "seconds" (divf $ms 1000) "duration" (include "fx-platform.monitoring.duration" $args)) -}}
{{- end -}}
{{- if ge $latency.warning.ms $latency.critical.ms -}}
{{- fail (printf "monitoring.thresholds.latency.warning: %s is not below critical %s" $latency.warning.duration $latency.critical.duration) -}}
{{- end -}}
{{- $_ := set $thresholds "latency" $latency -}}
{{- $_ := set $out "thresholds" $thresholds -}}
{{- range $field := list "requestsMetric" "latencyMetric" -}}
{{- if not (regexMatch "^[a-zA-Z_:][a-zA-Z0-9_:]*$" (get $out $field)) -}}
{{- fail (printf "monitoring.%s: %q is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)" $field (get $out $field)) -}}
{{- end -}}
{{- end -}}
{{- if hasSuffix "_bucket" $out.latencyMetric -}}
{{- fail (printf "monitoring.latencyMetric: %q: name the histogram without _bucket" $out.latencyMetric) -}}
{{- end -}}
{{- if or (not (regexMatch "^[a-zA-Z_][a-zA-Z0-9_]*$" $out.codeLabel)) (hasPrefix "__" $out.codeLabel) -}}
{{- fail (printf "monitoring.codeLabel: %q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __)" $out.codeLabel) -}}
{{- end -}}
{{- $scrape := atoi (include "fx-platform.monitoring.ms" (list "monitoring.scrapeInterval" $m.scrapeInterval)) -}}
{{- if le $scrape 0 -}}
{{- fail "monitoring.scrapeInterval: 0s is not positive" -}}
{{- else if lt (atoi (include "fx-platform.monitoring.ms" (list "monitoring.rateWindow" $m.rateWindow))) (mul 2 $scrape) -}}
{{- fail (printf "monitoring.rateWindow: %s is under two scrape intervals (%s): rate() needs two samples" $out.rateWindow $out.scrapeInterval) -}}
{{- end -}}
{{- if not (regexMatch "^(?i:https?)://[^/?#\\s]+[^#\\s]*$" $out.runbookURL) -}}
{{- fail (printf "monitoring.runbookURL: %q is not an http(s) URL without a #fragment (each alert adds its own)" $out.runbookURL) -}}
{{- end -}}
{{- if not (hasPrefix "/" (toString $out.metricsPath)) -}}
{{- fail (printf "metrics.path: %q does not start with /" $out.metricsPath) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* The labels of the PrometheusRule and the ServiceMonitor:
monitoring.objectLabels alone, as monitoring.Service's ObjectLabels. */ -}}
{{- define "fx-platform.monitoring.objectLabels" -}}
{{- with .Values.monitoring.objectLabels -}}
labels:
  {{- range $k, $v := . }}
  {{ $k }}: {{ toString $v | quote }}
  {{- end }}
{{- end -}}
{{- end -}}

{{- /* A string in YAML's single quotes, which PromQL's double quotes and
backslashes need no escaping in. */ -}}
{{- define "fx-platform.monitoring.squote" -}}
'{{ replace "'" "''" . }}'
{{- end -}}

{{- /* One alert of the PrometheusRule, as monitoring's alert writes it. */ -}}
{{- define "fx-platform.monitoring.alert" -}}
- alert: {{ .alert }}
  expr: {{ include "fx-platform.monitoring.squote" .expr }}
  {{- if ne .for "0s" }}
  for: {{ .for }}
  {{- end }}
  labels:
    severity: {{ .severity }}
    service: {{ .s.service | quote }}
    namespace: {{ .s.namespace | quote }}
  annotations:
    summary: {{ include "fx-platform.monitoring.squote" .summary }}
    description: {{ include "fx-platform.monitoring.squote" .description }}
    runbook_url: {{ include "fx-platform.monitoring.squote" (printf "%s#%s" .s.runbookURL (lower .alert)) }}
{{- end -}}
