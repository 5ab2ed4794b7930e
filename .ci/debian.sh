# Helpers of the provision scripts (sourced): root check, apt, and a separate Debian 13 list.
# shellcheck shell=bash

TRIXIE_DIR=/var/cache/template-ci/trixie

die() { echo "error: $*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "missing $1; install it as root (sudo bash $0) or by hand, then run again"
}

# Debian packages (names) that are not installed.
missing_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" = "ii " ] || missing+=("$pkg")
    done
    echo "${missing[@]}"
}

apt_updated=false
apt_install() {
    $apt_updated || { apt-get update -qq || die "apt-get update failed"; apt_updated=true; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
        die "apt-get install $* failed"
}

trixie() {
    # A separate source list for Debian 13, so the system's own sources stay as they are.
    mkdir -p "$TRIXIE_DIR/lists/partial" "$TRIXIE_DIR/archives/partial"
    [ -f "$TRIXIE_DIR/sources.list" ] ||
        echo "deb http://deb.debian.org/debian trixie main" >"$TRIXIE_DIR/sources.list"
    apt-get -qq -o APT::Sandbox::User=root -o Dir::Etc::SourceList="$TRIXIE_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$TRIXIE_DIR/lists" -o Dir::Cache::Archives="$TRIXIE_DIR/archives" "$@"
}

# Downloads the packages from Debian 13 and installs them together with dpkg; their
# dependencies must already be installed (from Debian 12).
install_trixie_debs() {
    local pkg debs=()
    trixie update || die "apt-get update of the Debian 13 list ($TRIXIE_DIR/sources.list) failed"
    for pkg in "$@"; do
        rm -f "$TRIXIE_DIR/archives/${pkg}"_*.deb
    done
    (cd "$TRIXIE_DIR/archives" && trixie download "$@") || die "downloading $* from Debian 13 failed"
    for pkg in "$@"; do
        debs+=("$TRIXIE_DIR/archives/${pkg}"_*.deb)
    done
    DEBIAN_FRONTEND=noninteractive dpkg -i "${debs[@]}" >/dev/null ||
        die "dpkg -i ${debs[*]} failed; missing dependencies? (apt-get install -f lists them)"
}
