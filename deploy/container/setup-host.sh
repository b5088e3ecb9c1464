#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (as root) to build and run pyserving's image with podman:
# the tools, the two containers.conf settings such machines need, and a base image made from
# Debian's archive (no container registry is needed). Idempotent: each step is skipped when done.
#
#   BASE_IMAGE (default localhost/pyserving-base:bookworm)  the base image to create
#   BASE_CACHE (default /var/cache/pyserving/base-bookworm.tar)  cached root file system
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-localhost/pyserving-base:bookworm}
BASE_CACHE=${BASE_CACHE:-/var/cache/pyserving/base-bookworm.tar}
TOOLS=(podman buildah mmdebstrap runc catatonit netavark aardvark-dns iptables uidmap
       fuse-overlayfs slirp4netns)

missing=()
for package in "${TOOLS[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup-host: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# runc: crun refuses cgroups v1 "hybrid" hosts; the ulimits: crun/runc cannot raise the open-files
# limit above the host's hard limit, so ask for no more than the host allows. A drop-in file, so
# that an existing containers.conf is left as it is.
conf=/etc/containers/containers.conf.d/50-pyserving-container-test.conf
if [[ ! -s $conf ]]; then
    nofile=$(ulimit -Hn)
    [[ $nofile == unlimited ]] && nofile=1048576
    mkdir -p "$(dirname "$conf")"
    cat >"$conf" <<CONF
# pyserving: container-test settings (deploy/container/setup-host.sh)
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
fi

if ! podman image exists "$BASE_IMAGE"; then
    if [[ ! -s $BASE_CACHE ]]; then
        echo "setup-host: building the base root file system from Debian's archive (about a minute)"
        mkdir -p "$(dirname "$BASE_CACHE")"
        mmdebstrap --variant=minbase --format=tar --include=python3,python3-venv,ca-certificates \
            bookworm "$BASE_CACHE.tmp" 'deb http://deb.debian.org/debian bookworm main' \
            'deb http://deb.debian.org/debian bookworm-updates main' \
            'deb http://deb.debian.org/debian-security bookworm-security main'
        mv "$BASE_CACHE.tmp" "$BASE_CACHE"
    fi
    podman import --change 'CMD ["/bin/bash"]' "$BASE_CACHE" "$BASE_IMAGE" >/dev/null
fi
echo "setup-host: podman $(podman version --format '{{.Client.Version}}'), base image $BASE_IMAGE"
