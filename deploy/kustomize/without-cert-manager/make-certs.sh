#!/usr/bin/env bash
# Makes the webhook's serving certificate for deploy/kustomize/without-cert-manager, with openssl:
#   ca.key, ca.crt   a private CA (ECDSA P-256, 10 years), kept and reused on later runs
#   tls-secret.yaml  the kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt, for kustomization.yaml
#   tls.key, tls.crt the serving certificate (ECDSA P-256, DAYS days, default 365), signed by the CA,
#                    with SANs for the Service's DNS names: the apiserver's Go TLS checks SANs only.
# Renewal: run it again before tls.crt expires and `kubectl apply -k` this directory. The CA stays,
# so the caBundle does not change, and the webhook reloads the new certificate without a restart.
# The webhook's metric vault_autounseal_webhook_tls_cert_expiry_timestamp_seconds and the alert
# VaultAutounsealWebhookCertificateExpiring say when. Delete ca.key/ca.crt to start a new CA.
# Keep ca.key out of git (.gitignore here) and somewhere safe.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICE="${SERVICE:-vault-autounseal-webhook}"
NAMESPACE="${NAMESPACE:-vault-autounseal}"
DAYS="${DAYS:-365}"
cd "$DIR"
umask 077

if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
  echo "make-certs: new CA in $DIR/ca.crt" >&2
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -out ca.crt \
    -subj "/CN=${SERVICE}-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
else
  echo "make-certs: keeping the CA in $DIR/ca.crt" >&2
fi

echo "make-certs: serving certificate for ${SERVICE}.${NAMESPACE}.svc, ${DAYS} days" >&2
openssl ecparam -name prime256v1 -genkey -noout -out tls.key.new
openssl req -new -key tls.key.new -subj "/CN=${SERVICE}.${NAMESPACE}.svc" -out tls.csr
cat >tls.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:${SERVICE},DNS:${SERVICE}.${NAMESPACE},DNS:${SERVICE}.${NAMESPACE}.svc,DNS:${SERVICE}.${NAMESPACE}.svc.cluster.local
EXT
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$DAYS" \
  -extfile tls.ext -out tls.crt.new 2>/dev/null
# PKCS#8, which Node's TLS (the webhook) and Go both load.
openssl pkcs8 -topk8 -nocrypt -in tls.key.new -out tls.key
mv tls.crt.new tls.crt
rm -f tls.key.new tls.csr tls.ext
chmod 600 tls.key ca.key
chmod 644 tls.crt ca.crt

# The Secret for kustomization.yaml, base64 on single lines as the API's "byte" fields expect.
b64() { base64 -w0 <"$1"; }
cat >tls-secret.yaml <<SECRET
# Written by make-certs.sh; git-ignored. Holds the webhook's private key: never commit it.
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: ${SERVICE}-tls
  namespace: ${NAMESPACE}
  labels:
    app.kubernetes.io/part-of: vault-autounseal
data:
  ca.crt: $(b64 ca.crt)
  tls.crt: $(b64 tls.crt)
  tls.key: $(b64 tls.key)
SECRET
chmod 600 tls-secret.yaml
openssl x509 -in tls.crt -noout -enddate >&2
