#!/usr/bin/env bash
# CPython 3.14 for the tests that run the backend of each offered Python on the host: the
# machine has 3.12 and 3.13 (pyenv) but no 3.14; python.org and Debian's source tarballs are out
# of reach here, Debian's binary packages are not. So Debian forky's python3.14 is installed
# into its own root, $TEMPLATE_CI_ROOT/python-3.14 (debootstrap, minbase), and its interpreter made
# to run from the host: its ELF interpreter and library path point into that root (patchelf),
# and ensurepip takes the root's pip wheel, not the host's older one. Does nothing where that
# interpreter runs already.
#   bash .ci/provision-python.sh     # then: /opt/template-ci/python-3.14/usr/bin/python3.14
set -euo pipefail
# shellcheck source=.ci/debian.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

ROOT=${TEMPLATE_CI_ROOT:-/opt/template-ci}/python-3.14
PYTHON=$ROOT/usr/bin/python3.14
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if "$PYTHON" -c 'import ssl, sqlite3, ctypes, venv, ensurepip' 2>/dev/null; then
    echo "Python ready: $PYTHON ($("$PYTHON" -c 'import platform; print(platform.python_version())'))"
    exit 0
fi
read -r -a debs <<<"$(missing_packages debootstrap patchelf)"
if [ ${#debs[@]} -gt 0 ]; then
    need_root "${debs[*]}"
    echo "Installing Debian packages: ${debs[*]}"
    apt_install "${debs[@]}"
fi
need_root "Python 3.14 in $ROOT (debootstrap)"

start=$SECONDS
echo "Installing Debian forky's python3.14 into $ROOT (about a minute)"
rm -rf "$ROOT.partial"
# This debootstrap has no script named forky; sid's makes any suite after trixie.
debootstrap --variant=minbase --include=python3.14,python3.14-venv forky "$ROOT.partial" "$MIRROR" \
    /usr/share/debootstrap/scripts/sid >"$ROOT.log" 2>&1 || {
    tail -n 20 "$ROOT.log" >&2
    die "debootstrap of Debian forky failed; its log ($ROOT.log) ends as above"
}
# Paths baked in are absolute: the root is made where it stays.
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
patchelf --set-interpreter "$ROOT/usr/lib64/ld-linux-x86-64.so.2" --force-rpath \
    --set-rpath "$ROOT/usr/lib/x86_64-linux-gnu" "$PYTHON"
sed -i "s|'WHEEL_PKG_DIR': '/usr/share/python-wheels/'|'WHEEL_PKG_DIR': '$ROOT/usr/share/python-wheels/'|" \
    "$ROOT"/usr/lib/python3.14/_sysconfigdata_*.py
"$PYTHON" -c 'import ssl, sqlite3, ctypes, venv, ensurepip' ||
    die "Python 3.14 in $ROOT does not run from the host (see above)"
echo "Python ready: $PYTHON ($("$PYTHON" -c 'import platform; print(platform.python_version())'), $((SECONDS - start))s)"
