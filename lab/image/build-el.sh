#!/usr/bin/env bash
# Build the EL-like lab node (el/Dockerfile) on top of the lab's base image (build.sh): `docker
# build` from the local image, no registry. The tag is a hash of this recipe and of the base image's
# tag, so the image is built once and reused. Prints the image reference on stdout.
# Usage: lab/image/build-el.sh [BASE_IMAGE]   (default: what build.sh prints)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:-$("$here/build.sh")}
repo=${LAB_IMAGE_REPO:-havip-lab/node}-el
hash=$( (echo "$base"; cat "$here/build-el.sh" "$here"/el/*) | sha256sum | cut -c1-12)
image="$repo:$hash"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi
echo "lab/image: building $image from $base" >&2
log=$(mktemp /var/tmp/havip-lab-el-build.XXXXXX)
trap 'rm -f "$log"' EXIT
# The classic builder: FROM resolves to the local base image (BuildKit may ask a registry).
DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$base" -t "$image" "$here/el" >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
docker tag "$image" "$repo:latest" >&2
echo "$image"
