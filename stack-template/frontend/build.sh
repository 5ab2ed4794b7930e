#!/bin/sh
# Builds the app (mounted into /opt/frontend) into a new release, points /srv/www/current
# at it, then stays up so that the service counts as healthy.
set -eu

www=/srv/www
release=$(date -u +%Y%m%dT%H%M%SZ)

tsc -b
vite build --outDir "$www/releases/$release" --emptyOutDir

ln -sfn "releases/$release" "$www/current.new"
mv -T "$www/current.new" "$www/current"
echo "Serving release $release"

# Keep the newest three releases.
set -- "$www"/releases/*
while [ "$#" -gt 3 ]; do
  rm -rf "$1"
  shift
done

trap 'exit 0' INT TERM
sleep infinity &
wait
