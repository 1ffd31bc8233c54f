#!/usr/bin/env bash
# `make images`: build cockpit-relay:latest and cockpit-host:latest into this machine's
# default image store, with Docker when a Docker engine answers, else with Podman.
#
# The Dockerfiles build FROM the build argument BASE_IMAGE (default: Debian's official
# debian:bookworm-slim). Where no registry serves it (these machines), a Debian bookworm
# root is made from Debian's own packages with mmdebstrap and imported as
# localhost/cockpit-base:bookworm, once; later builds reuse it and their layer cache.
#
# With Podman the build steps see the machine's CA bundle and /etc/pip.conf through
# read-only mounts (the package registries are reached through them here); nothing of
# them is copied into an image.
#
# Settings (environment): ENGINE=docker|podman, BASE_IMAGE=<image>, IMAGES="relay host",
# BUILD_FLAGS="--no-cache" (more options for every build).
set -euo pipefail
cd "$(dirname "$0")/.."

OFFICIAL_BASE=docker.io/library/debian:bookworm-slim
LOCAL_BASE=localhost/cockpit-base:bookworm
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
IMAGES="${IMAGES:-relay host}"

say() { printf 'images: %s\n' "$*" >&2; }

if [ -z "${ENGINE:-}" ]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null; then
    ENGINE=podman
  else
    say "neither a Docker engine nor Podman is available (apt-get install podman runc)"
    exit 1
  fi
fi

engine=("$ENGINE")
build_mounts=()
if [ "$ENGINE" = podman ]; then
  # crun fails on setrlimit in these machines' containers; runc and no default ulimits work.
  if command -v runc >/dev/null; then engine+=(--runtime runc); fi
  if [ -z "${CONTAINERS_CONF:-}" ]; then
    conf="${XDG_RUNTIME_DIR:-/tmp}/cockpit-images-containers.conf"
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n' >"$conf"
    export CONTAINERS_CONF="$conf"
  fi
  # The machine's CA bundle and pip settings, read-only, for every RUN step (only if present).
  [ -f "$CA_BUNDLE" ] && build_mounts+=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")
  [ -f /etc/pip.conf ] && build_mounts+=(-v /etc/pip.conf:/etc/pip.conf:ro)
fi

have_image() { "${engine[@]}" image inspect "$1" >/dev/null 2>&1; }

bootstrap_base() {
  command -v mmdebstrap >/dev/null || {
    say "no registry serves $OFFICIAL_BASE and mmdebstrap is missing (apt-get install mmdebstrap)"
    exit 1
  }
  local dir
  dir="$(mktemp -d /tmp/cockpit-base-XXXXXX)"
  say "no registry serves $OFFICIAL_BASE: making a Debian bookworm root with mmdebstrap"
  # Like Debian's official slim image: no manuals, docs or translations, no kept .debs
  # (these options stay in the image's dpkg and apt settings for later installs).
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --aptopt='Acquire::Retries "3"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='echo "APT::Keep-Downloaded-Packages \"false\";" >"$1/etc/apt/apt.conf.d/90cockpit-clean"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$dir/rootfs.tar"
  "${engine[@]}" import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$dir/rootfs.tar" "$LOCAL_BASE" >/dev/null
  rm -rf "$dir"
}

if [ -z "${BASE_IMAGE:-}" ]; then
  if have_image "$OFFICIAL_BASE"; then
    BASE_IMAGE="$OFFICIAL_BASE"
  elif have_image "$LOCAL_BASE"; then
    BASE_IMAGE="$LOCAL_BASE"
  elif "${engine[@]}" pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then
    BASE_IMAGE="$OFFICIAL_BASE"
  else
    bootstrap_base
    BASE_IMAGE="$LOCAL_BASE"
  fi
fi
say "engine: $ENGINE, base: $BASE_IMAGE"

# The build context: only what the Dockerfiles copy, every file with one fixed time and
# owner, so that a fresh clone (CI) hits the same layer cache as the last build (Podman's
# cache of a COPY step changes with the files' times).
ctx="$(mktemp -d /tmp/cockpit-context-XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
tar -c --mtime=@946684800 --owner=0 --group=0 --numeric-owner \
  --exclude=__pycache__ --exclude='*.egg-info' --exclude='*.pyc' \
  .dockerignore pyproject.toml README.md src deploy/Dockerfile.relay deploy/Dockerfile.host \
  deploy/host.mcp.json deploy/host-entrypoint.sh | tar -x -C "$ctx"
find "$ctx" -exec touch -h -d @946684800 {} +

read -ra build_flags <<<"${BUILD_FLAGS:-}"
for name in $IMAGES; do
  say "building cockpit-$name:latest"
  start=$(date +%s)
  "${engine[@]}" build \
    --network host \
    "${build_mounts[@]}" \
    "${build_flags[@]}" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    -f "$ctx/deploy/Dockerfile.$name" \
    -t "cockpit-$name:latest" \
    "$ctx"
  say "cockpit-$name:latest built in $(($(date +%s) - start)) s"
done
