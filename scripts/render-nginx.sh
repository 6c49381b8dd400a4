#!/usr/bin/env bash
# Renders the shipped nginx files into a state folder for `make run` and the tests: the same
# files a sysadmin installs, with production paths replaced by local ones, and the example site's
# demo portal page. Also makes the example site's self-signed certificate and its demo users (once).
#
# usage: [STATUS_PORT=9478] scripts/render-nginx.sh STATE_DIR HTTPS_PORT BACKEND_PORT [SEND_RATE]
# (STATUS_PORT: the loopback port of health and metrics)
set -euo pipefail

state=$(realpath -m "$1")
https_port=$2
backend_port=$3
send_rate=${4:-}
status_port=${STATUS_PORT:-9478}
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/nginx"
out="$state/nginx"

mkdir -p "$out/conf.d" "$out/snippets" "$out/sites-enabled" "$state/nginx-tmp"

user_directive=""
if [ "$(id -u)" = 0 ]; then user_directive="user root;"; fi

render() {
    sed -e "s|/run/otp-fcgi/otp.sock|$state/otp.sock|g" \
        -e "s|/etc/nginx/otp-fcgi-example|$state|g" \
        -e "s|127.0.0.1:8443|127.0.0.1:$https_port|g" \
        -e "s|127.0.0.1:8444|127.0.0.1:$backend_port|g" \
        -e "s|127.0.0.1:9478|127.0.0.1:$status_port|g" \
        -e "s|@STATE@|$state|g" \
        -e "s|@USER_DIRECTIVE@|$user_directive|g" \
        "$1" > "$2"
}

render "$src/dev/nginx.conf" "$out/nginx.conf"
render "$src/conf.d/otp-fcgi.conf" "$out/conf.d/otp-fcgi.conf"
render "$src/conf.d/otp-fcgi-status.conf" "$out/conf.d/otp-fcgi-status.conf"
render "$src/snippets/otp-fcgi.conf" "$out/snippets/otp-fcgi.conf"
render "$src/otp-fcgi_params" "$out/otp-fcgi_params"
render "$src/sites-available/otp-fcgi-example.conf" "$out/sites-enabled/otp-fcgi-example.conf"
render "$src/sites-available/otp-fcgi-example/protected.conf" "$state/protected.conf"
# The demo portal page's static files (/portal/), as they are: copied afresh on every render.
rm -rf "$state/portal"
cp -R "$src/sites-available/otp-fcgi-example/portal" "$state/portal"
chmod -R u=rwX,go=rX "$state/portal"
if [ -n "$send_rate" ]; then
    # Tests that send many codes at once lift the limit: the rate, and the burst (with
    # "burst=5 nodelay", a sixth send in the same instant is refused whatever the rate).
    sed -i -e "s|rate=10r/m|rate=$send_rate|" "$out/conf.d/otp-fcgi.conf"
    sed -i -e "s|burst=5 nodelay|burst=100000 nodelay|" "$out/snippets/otp-fcgi.conf"
fi

"$here/scripts/demo-credentials.sh" "$state"
