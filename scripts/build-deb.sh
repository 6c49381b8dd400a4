#!/usr/bin/env bash
# `make deb`: builds otp-fcgi_<version>_amd64.deb from a release build with the Swift runtime
# linked statically, so the package depends only on Debian's own libraries.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
version=$(cat packaging/VERSION)
binary=${OTP_FCGI_RELEASE_BINARY:-.build/release/otp-fcgi}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
out="$here/otp-fcgi_${version}_amd64.deb"

install -D -m 0755 "$binary" "$root/usr/sbin/otp-fcgi"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/sbin/otp-fcgi"
install -D -m 0644 packaging/otp-fcgi.service "$root/lib/systemd/system/otp-fcgi.service"
install -D -m 0644 packaging/otp-fcgi.socket "$root/lib/systemd/system/otp-fcgi.socket"
# Apache only: the step-up check on loopback TCP for mod_authnz_fcgi (not enabled by default).
install -D -m 0644 packaging/otp-fcgi-check.service "$root/lib/systemd/system/otp-fcgi-check.service"
install -D -m 0644 packaging/otp-fcgi-check.socket "$root/lib/systemd/system/otp-fcgi-check.socket"
install -D -m 0644 nginx/snippets/otp-fcgi.conf "$root/etc/nginx/snippets/otp-fcgi.conf"
install -D -m 0644 nginx/conf.d/otp-fcgi.conf "$root/etc/nginx/conf.d/otp-fcgi.conf"
install -D -m 0644 nginx/conf.d/otp-fcgi-status.conf "$root/etc/nginx/conf.d/otp-fcgi-status.conf"
install -D -m 0644 nginx/otp-fcgi_params "$root/etc/nginx/otp-fcgi_params"
install -D -m 0644 nginx/sites-available/otp-fcgi-example.conf "$root/usr/share/doc/otp-fcgi/examples/nginx-site.conf"
install -D -m 0644 nginx/sites-available/otp-fcgi-example/protected.conf "$root/usr/share/doc/otp-fcgi/examples/nginx-site-protected.conf"
# The example site's demo portal page: copy it to /etc/nginx/otp-fcgi-example/portal/ with the site.
for page in nginx/sites-available/otp-fcgi-example/portal/*; do
    install -D -m 0644 "$page" "$root/usr/share/doc/otp-fcgi/examples/portal/$(basename "$page")"
done
install -D -m 0644 packaging/otp-fcgi.env.example "$root/usr/share/doc/otp-fcgi/examples/otp-fcgi.env"
install -D -m 0644 examples/step-up-actions "$root/usr/share/doc/otp-fcgi/examples/step-up-actions"
for template in examples/sms-templates/*.txt; do
    install -D -m 0644 "$template" "$root/usr/share/otp-fcgi/sms-templates/$(basename "$template")"
done
install -D -m 0644 packaging/debian/copyright "$root/usr/share/doc/otp-fcgi/copyright"
gzip -9n -c README.md > README.md.gz.tmp && install -D -m 0644 README.md.gz.tmp "$root/usr/share/doc/otp-fcgi/README.md.gz" && rm README.md.gz.tmp
gzip -9n -c packaging/debian/changelog > "$root/usr/share/doc/otp-fcgi/changelog.gz"
chmod 0644 "$root/usr/share/doc/otp-fcgi/changelog.gz"
install -d -m 0755 "$root/usr/share/man/man8"
sed "s/@VERSION@/$version/" packaging/otp-fcgi.8 | gzip -9n > "$root/usr/share/man/man8/otp-fcgi.8.gz"
chmod 0644 "$root/usr/share/man/man8/otp-fcgi.8.gz"

install -d -m 0755 "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" packaging/debian/control.in > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

find "$root" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
