#!/usr/bin/env bash
# The example sites' self-signed certificate and demo users (alice, bob, and voice-agent, a service
# principal listed in OTP_DELEGATE_PRINCIPALS), made once per state folder: shared by
# render-nginx.sh, render-apache.sh and render-lighttpd.sh.
#
# usage: scripts/demo-credentials.sh STATE_DIR
set -euo pipefail
state=$1
here=$(cd "$(dirname "$0")/.." && pwd)

# The example sites' protected actions (OTP_STEP_UP_ACTIONS_FILE for make run and the tests).
cp "$here/examples/step-up-actions" "$state/step-up-actions"

if [ ! -s "$state/cert.pem" ] || [ ! -s "$state/key.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$state/key.pem" -out "$state/cert.pem" 2>/dev/null
    chmod 600 "$state/key.pem"
fi
if ! grep -qs '^voice-agent:' "$state/htpasswd"; then
    {
        printf 'alice:%s\n' "$(openssl passwd -apr1 alice-password)"
        printf 'bob:%s\n' "$(openssl passwd -apr1 bob-password)"
        printf 'voice-agent:%s\n' "$(openssl passwd -apr1 voice-agent-password)"
    } > "$state/htpasswd"
    # Read by the web server's unprivileged workers.
    chmod 644 "$state/htpasswd"
fi
