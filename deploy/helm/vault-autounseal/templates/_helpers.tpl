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

{{- /* repository@digest when a digest is given (it pins the image; the tag is ignored), else repository:tag. */ -}}
{{- define "vault-autounseal.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{- /*
Native sidecars (an init container with restartPolicy Always) need Kubernetes 1.29: an older
apiserver drops restartPolicy, and the never-ending init container holds Vault back forever. So
below 1.29 the chart renders regular-sidecar mode whatever sidecar.nativeSidecar says.
*/ -}}
{{- define "vault-autounseal.nativeSidecar" -}}
{{- and .Values.sidecar.nativeSidecar (semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version) -}}
{{- end -}}

{{- /*
matchConditions on webhook entries: GA in Kubernetes 1.30 (beta, and switchable off, before).
*/ -}}
{{- define "vault-autounseal.matchConditions" -}}
{{- semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version -}}
{{- end -}}

{{- /*
Refuses a release namespace where Vault pods are expected to opt in. Every webhook entry excludes
the release's own namespace (its pods must never wait on themselves), so a webhook installed where
Vault runs silently injects nothing. Offline (helm template) only webhook.vaultNamespaces can tell;
against a cluster (install, upgrade, template --dry-run=server) the namespace's injection label and
the StatefulSets and pods in it that opt in are looked up too.
*/ -}}
{{- define "vault-autounseal.validateNamespace" -}}
{{- $ns := .Release.Namespace -}}
{{- $why := printf "every webhook entry excludes the release namespace %s (the webhook's own pods must never wait on themselves), so no pod there would be injected: install the webhook in a namespace of its own, e.g. --namespace vault-autounseal --create-namespace" $ns -}}
{{- if has $ns .Values.webhook.vaultNamespaces -}}
{{- fail (printf "the release namespace %s is listed in webhook.vaultNamespaces: %s" $ns $why) -}}
{{- end -}}
{{- $namespace := lookup "v1" "Namespace" "" $ns -}}
{{- if and $namespace $namespace.metadata $namespace.metadata.labels -}}
{{- if eq (index $namespace.metadata.labels "vault-autounseal.io/injection" | default "") "enabled" -}}
{{- fail (printf "namespace %s carries the label vault-autounseal.io/injection=enabled: %s" $ns $why) -}}
{{- end -}}
{{- end -}}
{{- $optedIn := list -}}
{{- range $kind := list (list "apps/v1" "StatefulSet") (list "v1" "Pod") -}}
{{- $found := lookup (index $kind 0) (index $kind 1) $ns "" -}}
{{- range $item := ($found.items | default list) -}}
{{- $meta := $item.metadata | default dict -}}
{{- if eq (index $kind 1) "StatefulSet" -}}{{- $meta = $item.spec.template.metadata | default dict -}}{{- end -}}
{{- $labels := $meta.labels | default dict -}}
{{- $annotations := $meta.annotations | default dict -}}
{{- if or (eq (index $labels "vault-autounseal.io/inject" | default "") "true") (eq (index $annotations "vault-autounseal.io/inject" | default "") "true") -}}
{{- $optedIn = append $optedIn (printf "%s/%s" (lower (index $kind 1)) $item.metadata.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $optedIn -}}
{{- fail (printf "%s in namespace %s opt in to injection (vault-autounseal.io/inject: \"true\"): %s" (join ", " $optedIn) $ns $why) -}}
{{- end -}}
{{- end -}}

{{- /*
A PodDisruptionBudget that no eviction can satisfy blocks every node drain. With 1 replica none is
rendered; a minAvailable (as a number) of replicaCount or more is refused.
*/ -}}
{{- define "vault-autounseal.validateDisruptionBudget" -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt (int .Values.replicaCount) 1) (not (kindIs "string" $pdb.minAvailable)) -}}
{{- if ge (int $pdb.minAvailable) (int .Values.replicaCount) -}}
{{- fail (printf "podDisruptionBudget.minAvailable %d with replicaCount %d would block every node drain (no replica may ever be evicted): set it below replicaCount" (int $pdb.minAvailable) (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}
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
{{- include "vault-autounseal.validateNamespace" . -}}
{{- include "vault-autounseal.validateDisruptionBudget" . -}}
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
{{- with .Values.webhook.vaultNamespaces }}
- name: WEBHOOK_VAULT_NAMESPACES
  value: {{ join "," . | quote }}
{{- end }}
- name: SIDECAR_IMAGE
  value: {{ include "vault-autounseal.image" (dict "image" .Values.sidecar.image "appVersion" .Chart.AppVersion) | quote }}
- name: SIDECAR_IMAGE_PULL_POLICY
  value: {{ .Values.sidecar.image.pullPolicy | quote }}
- name: DEFAULT_KEYS_SECRET
  value: {{ .Values.sidecar.keysSecret | quote }}
- name: DEFAULT_NATIVE_SIDECAR
  value: {{ include "vault-autounseal.nativeSidecar" . | quote }}
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
