{{/* Names, labels and TLS plumbing shared by the templates. */}}

{{- define "vault-autounseal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vault-autounseal.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vault-autounseal.webhookName" -}}
{{- printf "%s-webhook" (include "vault-autounseal.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vault-autounseal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vault-autounseal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "vault-autounseal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vault-autounseal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vault-autounseal
{{- end -}}

{{- define "vault-autounseal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vault-autounseal.webhookName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vault-autounseal.image" -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) -}}
{{- end -}}

{{/* The Secret the webhook serves TLS from. */}}
{{- define "vault-autounseal.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- required "tls.secret.name is required when tls.mode is secret" .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "vault-autounseal.webhookName" .) -}}
{{- end -}}
{{- end -}}

{{/* The Service's DNS names: the SANs of the serving certificate. The apiserver dials <svc>.<ns>.svc. */}}
{{- define "vault-autounseal.dnsNames" -}}
{{- $svc := include "vault-autounseal.webhookName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{- /*
A number from a values file as the digits the webhook parses. YAML numbers from a values file reach
templates as float64, and `toString` prints those of a million or more in exponent form ("1e+06",
"1.00068e+09" for an OpenShift uid), which the webhook refuses. Strings and `--set` integers pass
through as they are.
*/ -}}
{{- define "vault-autounseal.digits" -}}
{{- if kindIs "float64" . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- end }}

{{- define "vault-autounseal.validateValues" -}}
{{- if not (has .Values.tls.mode (list "cert-manager" "generate" "secret")) -}}
{{- fail (printf "tls.mode must be cert-manager, generate or secret, not %q" .Values.tls.mode) -}}
{{- end -}}
{{- if gt (int .Values.webhook.timeoutSeconds) 5 -}}
{{- fail "webhook.timeoutSeconds must be at most 5: a slow webhook blocks every pod it matches" -}}
{{- end -}}
{{- if gt (int .Values.webhook.annotationOptIn.timeoutSeconds) 5 -}}
{{- fail "webhook.annotationOptIn.timeoutSeconds must be at most 5: this entry matches every pod of unlabelled namespaces" -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail "webhook.failurePolicy must be Fail or Ignore" -}}
{{- end -}}
{{- end -}}

{{/* The webhook's environment: its listeners and the defaults of the sidecar it injects. */}}
{{- define "vault-autounseal.webhookEnv" -}}
- name: WEBHOOK_PORT
  value: {{ .Values.webhook.port | quote }}
- name: WEBHOOK_METRICS_PORT
  value: {{ .Values.webhook.metricsPort | quote }}
- name: WEBHOOK_HOST
  value: {{ .Values.webhook.host | quote }}
- name: WEBHOOK_TLS_HANDSHAKE_TIMEOUT
  value: {{ .Values.webhook.tlsHandshakeTimeout | quote }}
- name: WEBHOOK_REQUEST_TIMEOUT
  value: {{ .Values.webhook.requestTimeout | quote }}
- name: WEBHOOK_MAX_CONNECTIONS
  value: {{ include "vault-autounseal.digits" .Values.webhook.maxConnections | quote }}
- name: WEBHOOK_TLS_CERT_FILE
  value: /etc/webhook/tls/tls.crt
- name: WEBHOOK_TLS_KEY_FILE
  value: /etc/webhook/tls/tls.key
- name: WEBHOOK_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: LOG_LEVEL
  value: {{ .Values.webhook.logLevel | quote }}
- name: SIDECAR_IMAGE
  value: {{ include "vault-autounseal.image" (dict "image" .Values.sidecar.image "appVersion" .Chart.AppVersion) | quote }}
- name: SIDECAR_IMAGE_PULL_POLICY
  value: {{ .Values.sidecar.image.pullPolicy | quote }}
- name: DEFAULT_KEYS_SECRET
  value: {{ .Values.sidecar.keysSecret | quote }}
- name: DEFAULT_NATIVE_SIDECAR
  value: {{ .Values.sidecar.nativeSidecar | quote }}
- name: SIDECAR_RUN_AS_USER
  value: {{ include "vault-autounseal.digits" .Values.sidecar.runAsUser | quote }}
- name: SIDECAR_RUN_AS_GROUP
  value: {{ include "vault-autounseal.digits" .Values.sidecar.runAsGroup | quote }}
- name: SIDECAR_CPU_REQUEST
  value: {{ .Values.sidecar.resources.requests.cpu | quote }}
- name: SIDECAR_MEMORY_REQUEST
  value: {{ .Values.sidecar.resources.requests.memory | quote }}
- name: SIDECAR_CPU_LIMIT
  value: {{ .Values.sidecar.resources.limits.cpu | quote }}
- name: SIDECAR_MEMORY_LIMIT
  value: {{ .Values.sidecar.resources.limits.memory | quote }}
{{- end -}}
