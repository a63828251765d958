#!/usr/bin/env bash
# `podman`, as scripts/images/check.mjs calls it, for an image of another architecture: release.mjs
# puts this first on check.mjs's PATH (as `podman`) so that the very checks CI runs on the amd64
# images (unseal a real OpenBao, answer an AdmissionReview, uid, read-only root, SIGTERM, contents)
# run the arm64 image under emulation. For `podman … run … IMAGE ARGS` with IMAGE the emulated
# image ($VAU_EMULATED_IMAGE), the static qemu-aarch64-static from Debian's qemu-user-static is
# mounted read-only into the container and made the entrypoint, followed by the image's own
# entrypoint: the kernel runs qemu (an amd64 binary), qemu runs the arm64 Node. No binfmt_misc
# registration is needed, so nothing on the machine changes. Every other call is passed through.
set -euo pipefail
real=${VAU_REAL_PODMAN:?}
image=${VAU_EMULATED_IMAGE:?}
qemu=${VAU_QEMU:?}
args=("$@")
run_at=-1 image_at=-1
for i in "${!args[@]}"; do
  if [[ $run_at -lt 0 && ${args[$i]} == run ]]; then run_at=$i; fi
  if [[ $run_at -ge 0 && $image_at -lt 0 && ${args[$i]} == "$image" ]]; then image_at=$i; fi
done
if [[ $run_at -lt 0 || $image_at -lt 0 ]]; then exec "$real" "$@"; fi
mapfile -t entrypoint < <("$real" image inspect --format '{{json .Config.Entrypoint}}' "$image" |
  node -e 'for (const a of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(a)')
exec "$real" "${args[@]:0:image_at}" \
  --volume "$qemu:/usr/local/bin/qemu-aarch64-static:ro" \
  --entrypoint /usr/local/bin/qemu-aarch64-static \
  "$image" "${entrypoint[@]}" "${args[@]:image_at+1}"
