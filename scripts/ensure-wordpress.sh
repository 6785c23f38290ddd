#!/usr/bin/env bash
# Make sure what the reference web image's integration test
# (test/e2e/wordpress.integration.test.ts) runs is installed: Debian's
# WordPress (/usr/share/wordpress), the PHP command line (its built-in web
# server `php -S` serves the sites), PHP's MySQL extension (mysqli), and
# Apache with mod_php (which Debian's wordpress package depends on anyway),
# which serves the sites through the image's own virtual host.
# Idempotent: installs nothing when everything is already there, and only the
# packages whose piece is missing otherwise.
#
# Debian starts a service it installs where systemd runs (a workstation):
# there the apache2 package also starts Apache on port 80. The tests do not
# need it (they start their own); `systemctl disable --now apache2` stops it.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

WP_DIR=/usr/share/wordpress

have_php() {
  command -v php >/dev/null 2>&1
}
have_mysqli() {
  have_php && php -m 2>/dev/null | grep -qi '^mysqli$'
}
have_wordpress() {
  [ -f "$WP_DIR/wp-settings.php" ]
}
have_apache() {
  [ -x /usr/sbin/apache2 ]
}
have_mod_php() {
  compgen -G '/usr/lib/apache2/modules/libphp*.so' >/dev/null
}

missing=()
have_php || missing+=(php-cli)
have_mysqli || missing+=(php-mysql)
have_wordpress || missing+=(wordpress)
have_apache || missing+=(apache2)
have_mod_php || missing+=(libapache2-mod-php)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "ensure-wordpress: php $(php -r 'echo PHP_VERSION;') with mysqli, Apache with mod_php, and WordPress $(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$WP_DIR/wp-includes/version.php" 2>/dev/null || echo '?') already installed, nothing to do"
  exit 0
fi

# --no-install-recommends keeps out what the wordpress package only
# recommends (translations, a theme); MariaDB comes from scripts/ensure-mariadb.sh.
apt_install ensure-wordpress "${missing[@]}"

problems=()
have_php || problems+=("php is not on PATH")
have_mysqli || problems+=("php has no mysqli extension")
have_wordpress || problems+=("$WP_DIR/wp-settings.php does not exist")
have_apache || problems+=("/usr/sbin/apache2 does not exist")
have_mod_php || problems+=("Apache has no PHP module in /usr/lib/apache2/modules")
if [ "${#problems[@]}" -ne 0 ]; then
  echo "ensure-wordpress: apt-get succeeded but: ${problems[*]}" >&2
  exit 1
fi
echo "ensure-wordpress: installed php $(php -r 'echo PHP_VERSION;') with mysqli, Apache with mod_php, and WordPress $(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$WP_DIR/wp-includes/version.php")"
