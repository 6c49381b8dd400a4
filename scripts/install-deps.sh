#!/usr/bin/env bash
# Installs the Debian packages otp-fcgi builds, runs and tests with, if any is missing.
set -euo pipefail

packages=(
    pkg-config libfcgi-dev libsqlite3-dev libcurl4-openssl-dev   # build
    nginx openssl curl sqlite3 ca-certificates                   # make run, tests
    libfcgi-bin                                                  # cgi-fcgi, for poking the socket by hand
    apache2 lighttpd lighttpd-mod-openssl                        # Apache httpd, lighttpd and CGI tests (own processes, never the services)
    wrk                                                          # overload test and make bench
    spawn-fcgi lintian systemd dpkg-dev                          # make deb and its install test
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        exec sudo env DEBIAN_FRONTEND=noninteractive bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}"
    fi
    echo "not root and no sudo: install these packages first: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
