#!/usr/bin/env bash
# Installs the Debian packages otp-fcgi builds, runs and tests with, if any is missing, and
# schemathesis and Selenium (PyPI, pinned in Tests/schemathesis/requirements.txt and
# Tests/browser/requirements.txt) into .venv/ for the API schema test and the portal's browser test.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    pkg-config libfcgi-dev libsqlite3-dev libcurl4-openssl-dev   # build
    libjemalloc-dev                                              # build: the allocator otp-fcgi links (Package.swift)
    libphonenumber-dev                                           # build: the SMS firewall's number check
    libpq-dev                                                    # build: the PostgreSQL store (OTP_DB_URL)
    postgresql                                                   # tests: a throwaway cluster (scripts/with-postgres.sh)
    nginx openssl curl sqlite3 ca-certificates                   # make run, tests
    libfcgi-bin                                                  # cgi-fcgi, for poking the socket by hand
    apache2 lighttpd lighttpd-mod-openssl                        # Apache httpd, lighttpd and CGI tests (own processes, never the services)
    wrk                                                          # overload test and make bench
    spawn-fcgi lintian systemd dpkg-dev                          # make deb and its install test
    python3 python3-venv                                         # schemathesis (API schema test), in .venv/
    chromium chromium-driver                                     # the portal page's browser test (Selenium, headless)
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo env DEBIAN_FRONTEND=noninteractive bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing[*]}"
        else
            echo "not root and no sudo: install these packages first: ${missing[*]}" >&2
            exit 1
        fi
    else
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

# schemathesis for Tests/IntegrationTests/SchemaConformanceTests.swift and Selenium for
# Tests/IntegrationTests/PortalBrowserTests.swift, with Debian's Python 3.11, in a virtual environment
# of the repository (.venv/, ignored by git); installed again when a pin changes.
requirements=("$here/Tests/schemathesis/requirements.txt" "$here/Tests/browser/requirements.txt")
if ! cat "${requirements[@]}" | cmp -s - "$here/.venv/requirements.txt" || [ ! -x "$here/.venv/bin/st" ]; then
    echo "installing $(grep -h -e '^schemathesis==' -e '^selenium==' "${requirements[@]}" | tr '\n' ' ')into .venv/"
    /usr/bin/python3 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --disable-pip-version-check -r "${requirements[0]}" -r "${requirements[1]}"
    cat "${requirements[@]}" > "$here/.venv/requirements.txt"
fi
