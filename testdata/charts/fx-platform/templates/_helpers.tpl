{{- /*
The deploy-actions chart contract (README, "Production from the chart").
promote renders this chart as three releases: <release>-blue and
<release>-green, one per colour, and <release> for what the colours share.
It sets these values; everything else is the chart's own:
  rollout.part        all (default: the whole app in one release, as deploy
                      renders it for staging), shared, blue or green
  rollout.colorLabel  the pod label that tells the colours apart (promote's
                      color-label, default version)
  rollout.live        shared part: the colour the live Service selects, or
                      "" for both colours (the replicas router's split)
  rollout.replicas    colour parts: the replica count the colour starts at
*/ -}}
{{- define "fx-platform.part" -}}
{{- $part := .Values.rollout.part | default "all" -}}
{{- if not (has $part (list "all" "shared" "blue" "green")) -}}
{{- fail (printf "rollout.part is %q; want all, shared, blue or green" $part) -}}
{{- end -}}
{{- $part -}}
{{- end -}}

{{- /* The colour this release renders, or "" (parts all and shared). */ -}}
{{- define "fx-platform.colour" -}}
{{- $part := include "fx-platform.part" . -}}
{{- if has $part (list "blue" "green") }}{{ $part }}{{ end -}}
{{- end -}}

{{- /* "true" when this release renders the workload: Deployment, HPA, PDB, Secret. */ -}}
{{- define "fx-platform.workload" -}}
{{- if ne (include "fx-platform.part" .) "shared" }}true{{ end -}}
{{- end -}}

{{- /* "true" when this release renders the shared objects: the Services and the NetworkPolicy. */ -}}
{{- define "fx-platform.shared" -}}
{{- if has (include "fx-platform.part" .) (list "all" "shared") }}true{{ end -}}
{{- end -}}

{{- /* The app's name: the release's, less "-<colour>" in a colour's release. */ -}}
{{- define "fx-platform.name" -}}
{{- $colour := include "fx-platform.colour" . -}}
{{- if $colour -}}
{{- if not (hasSuffix (printf "-%s" $colour) .Release.Name) -}}
{{- fail (printf "release %q renders colour %s: its name must be <release>-%s" .Release.Name $colour $colour) -}}
{{- end -}}
{{- trimSuffix (printf "-%s" $colour) .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- /* Workload objects: <name> in part all, <name>-<colour> in a colour's release. */ -}}
{{- define "fx-platform.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fx-platform.colorLabel" -}}
{{- .Values.rollout.colorLabel | default "version" -}}
{{- end -}}

{{- /* The labels every pod of the app carries, both colours alike. */ -}}
{{- define "fx-platform.appLabels" -}}
app: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ include "fx-platform.name" . }}
{{- end -}}

{{- /* The workload's selector: the app's labels and, in a colour's release, its colour. */ -}}
{{- define "fx-platform.selectorLabels" -}}
{{ include "fx-platform.appLabels" . }}
{{- with include "fx-platform.colour" . }}
{{ include "fx-platform.colorLabel" $ }}: {{ . }}
{{- end }}
{{- end -}}

{{- define "fx-platform.labels" -}}
{{ include "fx-platform.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "fx-platform.serviceName" -}}
{{- .Values.service.name | default (include "fx-platform.name" .) -}}
{{- end -}}

{{- define "fx-platform.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
