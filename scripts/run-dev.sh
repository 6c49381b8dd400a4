#!/usr/bin/env bash
# `make run`: otp-fcgi behind nginx on 127.0.0.1 with the file SMS sink, under .state/.
# Ctrl-C stops both.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
state="$here/.state"
https_port=${PORT:-8443}
backend_port=${BACKEND_PORT:-8444}
status_port=${STATUS_PORT:-9478}
binary=${OTP_FCGI_BINARY:-$here/.build/release/otp-fcgi}

mkdir -p "$state"
chmod 700 "$state"
[ -s "$state/pepper" ] || (umask 077 && openssl rand -hex 32 > "$state/pepper")
STATUS_PORT=$status_port "$here/scripts/render-nginx.sh" "$state" "$https_port" "$backend_port"
nginx -t -q -p "$state/nginx" -c "$state/nginx/nginx.conf" -e "$state/nginx-error.log"
# The otp-fcgi mistakes nginx -t does not see (fastcgi_params, REMOTE_USER, the check, the token).
"$binary" check-nginx --nginx-prefix "$state/nginx" --nginx-conf "$state/nginx/nginx.conf"

export OTP_PEPPER
OTP_PEPPER=$(cat "$state/pepper")
export OTP_DB_PATH="$state/otp.sqlite3"
export OTP_SMS_PROVIDER=file
export OTP_SMS_FILE="$state/sms.jsonl"
export OTP_STEP_UP_ACTIONS_FILE="$state/step-up-actions"
export OTP_DELEGATE_PRINCIPALS=voice-agent
export OTP_SMS_TEMPLATES_DIR="$here/examples/sms-templates"
# The demo portal page is served as https://localhost:PORT/portal/: every SMS ends with
# "@localhost #<code>", the line WebOTP and iOS autofill offer the code to that page from.
export OTP_WEBOTP_DOMAIN=localhost

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo
    echo "stopped otp-fcgi and nginx"
}
trap stop INT TERM EXIT

"$binary" serve --listen "unix:$state/otp.sock" --workers 4 2> >(tee -a "$state/otp-fcgi.log" >&2) &
pids+=($!)
for _ in $(seq 50); do [ -S "$state/otp.sock" ] && break; sleep 0.1; done
nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -e "$state/nginx-error.log" &
pids+=($!)
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$https_port") 2>/dev/null && break
    kill -0 "${pids[1]}" 2>/dev/null || { echo "nginx did not start (is port $https_port in use? PORT=... picks another)" >&2; exit 1; }
    sleep 0.1
done

base="https://127.0.0.1:$https_port"
cat <<EOT

otp-fcgi is running behind nginx at $base (self-signed certificate: .state/cert.pem).
Demo portal page: https://localhost:$https_port/portal/ (log in as alice / alice-password; the browser warns about the certificate).
SMS go to .state/sms.jsonl instead of phones. Demo users: alice / alice-password, bob / bob-password.
Try it from another terminal in $here:

  # 1. verify alice's phone: ask for a code...
  curl -sS -w '\n' --cacert .state/cert.pem -u alice:alice-password -H 'Content-Type: application/json' \
       -d '{"phone_e164": "+14155550123", "purpose": "verify_phone"}' $base/api/otp/send

  # 2. ...read it from the SMS sink and verify it: +14155550123 is now alice's phone on record
  CODE=\$(tail -n 1 .state/sms.jsonl | sed -n 's/.*"body": "[^0-9]*\([0-9]\{6\}\).*/\1/p'); echo "\$CODE"
  curl -sS -w '\n' --cacert .state/cert.pem -u alice:alice-password -H 'Content-Type: application/json' \
       -d "{\"phone_e164\": \"+14155550123\", \"purpose\": \"verify_phone\", \"code\": \"\$CODE\"}" $base/api/otp/verify

  # 3. the protected action without a step-up: 401, and the challenge names the action it needs
  curl -sS -i --cacert .state/cert.pem -u alice:alice-password $base/account/cancel-appointment

  # 4. a step-up code for that action: it goes only to alice's verified phone, and says what it approves
  curl -sS -w '\n' --cacert .state/cert.pem -u alice:alice-password -H 'Content-Type: application/json' \
       -d '{"purpose": "step_up", "action": "cancel-appointment"}' $base/api/otp/send

  # 5. verify it and keep the one-time step-up token
  CODE=\$(tail -n 1 .state/sms.jsonl | sed -n 's/.*"body": "[^0-9]*\([0-9]\{6\}\).*/\1/p'); echo "\$CODE"
  TOKEN=\$(curl -sS --cacert .state/cert.pem -u alice:alice-password -H 'Content-Type: application/json' \
       -d "{\"purpose\": \"step_up\", \"action\": \"cancel-appointment\", \"code\": \"\$CODE\"}" \
       $base/api/otp/verify | sed -n 's/.*"step_up_token": "\([^"]*\)".*/\1/p'); echo "\$TOKEN"

  # 6. the protected action: admitted once...
  curl -sS -w '\n' --cacert .state/cert.pem -u alice:alice-password -H "X-Step-Up-Token: \$TOKEN" $base/account/cancel-appointment

  # 7. ...and refused the second time (401, step-up required)
  curl -sS -w '\n' --cacert .state/cert.pem -u alice:alice-password -H "X-Step-Up-Token: \$TOKEN" $base/account/cancel-appointment

  # 8. health and metrics: on their own loopback server, not on the site
  curl -sS -w '\n' http://127.0.0.1:$status_port/health; curl -sS http://127.0.0.1:$status_port/metrics | grep otp_step_up_checks_total

Logs: .state/otp-fcgi.log, .state/nginx-error.log. Ctrl-C stops both.
EOT
wait -n "${pids[@]}" || true
