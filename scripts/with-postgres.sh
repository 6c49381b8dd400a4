#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL cluster: initdb into a temporary folder, the
# server on a unix socket in that folder only (no TCP port, no system service), the database
# otp_test, then the command with these variables set, then the cluster stopped and removed —
# also when the command fails or is interrupted.
#   OTP_TEST_PG_URL   postgresql:///otp_test?host=<folder>&user=otp  (the store tests, the integration stacks)
#   OTP_TEST_PG_CTL   <folder>/pg_ctl: pg_ctl for this cluster, run as its owner (stop -m immediate / start)
# As root the cluster belongs to the `postgres` system user (Debian's postgresql package creates
# it; PostgreSQL refuses to run as root), else to the caller.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 command [arguments…]" >&2
    exit 64
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "$0: PostgreSQL's server is not installed (Debian: postgresql; make deps installs it)" >&2
    exit 69
fi

folder=$(mktemp -d /tmp/otp-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres: "$folder"
    chmod 755 "$folder"
    as_owner=(runuser -u postgres --)
fi

# The server pg_ctl starts must not keep any descriptor of its caller open (a test runner notices
# that its child ended when the child's descriptors close), so everything above 2 is closed first.
cat > "$folder/pg_ctl" <<SCRIPT
#!/usr/bin/env bash
for fd in \$(ls /proc/\$\$/fd); do [ "\$fd" -gt 2 ] && eval "exec \$fd>&-"; done 2>/dev/null
exec ${as_owner[*]} "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" "\$@"
SCRIPT
chmod 755 "$folder/pg_ctl"

cleanup() {
    status=$?
    "$folder/pg_ctl" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$folder"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$bin/initdb" -D "$folder/data" -U otp -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$folder/initdb.log" 2>&1 \
    || { cat "$folder/initdb.log" >&2; exit 1; }
# The unix socket only, in the folder; room for the tests' connections (3 nodes × workers + maintenance,
# 20-thread races); fsync off (a test cluster; `stop -m immediate` still keeps every commit, the OS has it).
cat >> "$folder/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$folder'
max_connections = 400
fsync = off
full_page_writes = off
log_min_messages = warning
CONF
"$folder/pg_ctl" start -w >/dev/null || { cat "$folder/server.log" >&2; exit 1; }
"$bin/psql" -X -q -h "$folder" -U otp -d postgres -c "CREATE DATABASE otp_test" >/dev/null

export OTP_TEST_PG_URL="postgresql:///otp_test?host=$folder&user=otp"
export OTP_TEST_PG_CTL="$folder/pg_ctl"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests at $folder"
"$@"
