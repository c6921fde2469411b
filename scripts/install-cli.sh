#!/usr/bin/env bash
# Puts `strata` on the PATH (a wrapper in $STRATA_BIN_DIR, default /usr/local/bin, that runs this
# clone's built CLI) and, once the local server has written its admin credentials, a profile
# `local` for it, made the current one (in the invoking user's ~/.config/strata/config.json, or
# $STRATA_CONFIG). Idempotent: run by scripts/up.sh after every bring-up.
# The server's address is the one up.sh starts it on: $STRATA_HOST (default 127.0.0.1) and
# $STRATA_PORT (default 8080); its credentials are in $STRATA_HOME/server (default var/server).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
bin_dir="${STRATA_BIN_DIR:-/usr/local/bin}"
cli="$repo/packages/cli/dist/bin.js"
node_bin="$(command -v node)"

if [ ! -f "$cli" ]; then
  echo "strata: $cli is not built yet (npx tsc -b)" >&2
  exit 1
fi
mkdir -p "$bin_dir"
# bash's %q quotes any path (spaces, quotes, $) so the wrapper runs exactly this file.
tmp="$(mktemp "$bin_dir/.strata.XXXXXX")"
printf '#!/usr/bin/env bash\n# Installed by %q: the Strata CLI of that clone.\nexec %q %q "$@"\n' \
  "$repo/scripts/install-cli.sh" "$node_bin" "$cli" >"$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin_dir/strata"

host="${STRATA_HOST:-127.0.0.1}"
# a server listening on every address is reached on the loopback one
case "$host" in 0.0.0.0 | '::' | '[::]') host=127.0.0.1 ;; esac
case "$host" in *:*) host="[${host#[}" && host="${host%]}]" ;; esac
endpoint="http://$host:${STRATA_PORT:-8080}"
creds="${STRATA_HOME:-$repo/var}/server/admin-credentials.json"
if [ -f "$creds" ]; then
  "$bin_dir/strata" config import-credentials "$creds" --endpoint "$endpoint" --name local
else
  echo "strata: no $creds yet (the server writes it on its first start); profile not set" >&2
fi
echo "strata: $bin_dir/strata runs $cli"
