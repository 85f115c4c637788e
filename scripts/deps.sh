#!/usr/bin/env bash
# Installs what building and testing sluice needs, from Debian 12 packages,
# and only what is missing (so a ready machine spends no time here).
set -euo pipefail

packages=(meson ninja-build pkg-config gcc libc6-dev libevent-dev libhiredis-dev
          libsodium-dev libyaml-dev libjansson-dev libssl-dev redis-server redis-tools openssl
          python3 curl)
packages+=("$@")
# The token interoperability test runs npm's paseto under Node.js; a Node
# from elsewhere (nodesource) that brings its own npm is fine as it is.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian package starts a system redis on 6379; tests start their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    "${sudo_cmd[@]}" systemctl stop redis-server || true
fi
