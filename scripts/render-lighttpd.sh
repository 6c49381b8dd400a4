#!/usr/bin/env bash
# Renders the shipped lighttpd files (lighttpd/) into a state folder for the tests: the same files
# a sysadmin installs, with production paths and ports replaced by local ones. Also makes the
# example site's self-signed certificate and its two demo users (once).
#
# usage: scripts/render-lighttpd.sh STATE_DIR HTTPS_PORT fastcgi|cgi [OTP_FCGI_BINARY]
#   fastcgi: the API and the authorizer over the socket STATE_DIR/otp.sock (50-otp-fcgi.conf)
#   cgi:     the API as plain CGI through cgi-bin/otp-fcgi, which reads STATE_DIR/otp-fcgi-cgi.env
#            (written by the caller) and runs OTP_FCGI_BINARY (50-otp-fcgi-cgi.conf)
#   STATUS_PORT (environment, default 9478): the loopback port of health and metrics
set -euo pipefail

state=$(realpath -m "$1")
https_port=$2
mode=$3
status_port=${STATUS_PORT:-9478}
here=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath -m "${4:-$here/.build/debug/otp-fcgi}")
src="$here/lighttpd"
out="$state/lighttpd"

mkdir -p "$out/conf-enabled" "$state/lighttpd-www/account" "$state/lighttpd-tmp" "$state/cgi-bin"

render() {
    sed -e "s|/run/otp-fcgi/otp.sock|$state/otp.sock|g" \
        -e "s|/etc/lighttpd/otp-fcgi-example|$state|g" \
        -e "s|/var/www/otp-fcgi-example|$state/lighttpd-www|g" \
        -e "s|/usr/lib/cgi-bin/otp-fcgi|$state/cgi-bin/otp-fcgi|g" \
        -e "s|/etc/otp-fcgi/otp-fcgi-cgi.env|$state/otp-fcgi-cgi.env|g" \
        -e "s|/usr/local/bin/otp-fcgi|$binary|g" \
        -e "s|127.0.0.1:8443|127.0.0.1:$https_port|g" \
        -e "s|127.0.0.1:9478|127.0.0.1:$status_port|g" \
        -e "s|server.port          = 8443|server.port          = $https_port|" \
        -e "s|@STATE@|$state|g" \
        "$1" > "$2"
}

render "$src/dev/lighttpd.conf" "$out/lighttpd.conf"
case "$mode" in
    fastcgi) render "$src/conf-available/50-otp-fcgi.conf" "$out/conf-enabled/50-otp-fcgi.conf" ;;
    cgi)     render "$src/conf-available/50-otp-fcgi-cgi.conf" "$out/conf-enabled/50-otp-fcgi-cgi.conf"
             render "$src/cgi-bin/otp-fcgi" "$state/cgi-bin/otp-fcgi"
             chmod 755 "$state/cgi-bin/otp-fcgi" ;;
    *) echo "mode must be fastcgi or cgi" >&2; exit 2 ;;
esac
render "$src/conf-available/51-otp-fcgi-example.conf" "$out/conf-enabled/51-otp-fcgi-example.conf"
for action in cancel-appointment change-payout; do
    install -m 755 "$src/otp-fcgi-example/account" "$state/lighttpd-www/account/$action"
done

"$here/scripts/demo-credentials.sh" "$state"
