#!/usr/bin/env bash
# Renders the shipped Apache httpd files (apache2/) into a state folder for the tests: the same
# files a sysadmin installs, with production paths and ports replaced by local ones. Also makes
# the example site's self-signed certificate and its two demo users (once).
#
# usage: scripts/render-apache.sh STATE_DIR HTTPS_PORT BACKEND_PORT OTP_FCGI_PORT
#   STATUS_PORT (environment, default 9478): the loopback port of health and metrics
set -euo pipefail

state=$(realpath -m "$1")
https_port=$2
backend_port=$3
otp_port=$4
status_port=${STATUS_PORT:-9478}
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/apache2"
out="$state/apache2"

mkdir -p "$out/conf-enabled" "$out/snippets" "$out/sites-enabled" "$state/apache2-run"

# Apache refuses to serve as root: when started by root its children run as www-data, which must
# be able to read the state folder (htpasswd, the example application) and the runtime folder.
user_directive=""
if [ "$(id -u)" = 0 ]; then
    user_directive="User www-data
Group www-data"
    chmod 755 "$state" "$state/apache2-run"
fi

render() {
    sed -e "s|/etc/apache2/otp-fcgi-example|$state|g" \
        -e "s|/etc/apache2/|$out/|g" \
        -e "s|fcgi://127.0.0.1:9000|fcgi://127.0.0.1:$otp_port|g" \
        -e "s|unix:/run/otp-fcgi/otp.sock|unix:$state/otp.sock|g" \
        -e "s|127.0.0.1:8443|127.0.0.1:$https_port|g" \
        -e "s|127.0.0.1:9478|127.0.0.1:$status_port|g" \
        -e "s|127.0.0.1:8444|127.0.0.1:$backend_port|g" \
        -e "s|@STATE@|$state|g" \
        "$1" | awk -v user="$user_directive" '{ if ($0 == "@USER_DIRECTIVE@") print user; else print }' > "$2"
}

render "$src/dev/apache2.conf" "$out/apache2.conf"
render "$src/conf-available/otp-fcgi.conf" "$out/conf-enabled/otp-fcgi.conf"
render "$src/snippets/otp-fcgi.conf" "$out/snippets/otp-fcgi.conf"
render "$src/sites-available/otp-fcgi-example.conf" "$out/sites-enabled/otp-fcgi-example.conf"
install -m 755 "$src/otp-fcgi-example/account" "$state/account"
render "$src/otp-fcgi-example/protected.conf" "$state/protected.conf"

"$here/scripts/demo-credentials.sh" "$state"
