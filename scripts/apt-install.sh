# Sourced by the ensure-*.sh scripts: `apt_install WHO PACKAGE…` installs
# Debian packages, as root or through sudo (a CI container is usually root),
# with no debconf prompt (DEBIAN_FRONTEND) and without what the packages only
# recommend. WHO prefixes the messages; a failure exits 1.
apt_install() {
  local who="$1"
  shift
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "$who: $* missing and I am not root and there is no sudo: cannot install them" >&2
      exit 1
    fi
  fi
  echo "$who: installing $* with apt-get"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q \
     || ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; then
    echo "$who: apt-get failed: could not install $*" >&2
    exit 1
  fi
}
