#!/usr/bin/env bash
# API fuzzing: schemathesis (property-based tests generated from the
# OpenAPI description) against a running `squall serve`.
#
# Installs schemathesis into a venv under $CARGO_TARGET_DIR/peers/schemathesis
# once (later runs reuse it), starts squall on a free loopback port with the
# example brand, a throwaway SQLite store and one token holding every role,
# seeds an incident and some mentions so that the read endpoints answer
# with real objects, then runs schemathesis with two checks:
#   not_a_server_error           no 5xx, whatever the request;
#   response_schema_conformance  every response body matches /openapi.json.
# Bounded: at most $SCHEMATHESIS_EXAMPLES cases per operation (default 100)
# and $SCHEMATHESIS_TIMEOUT seconds in all (default 600). Exits non-zero on
# any failure, or when squall panicked or died meanwhile. .ci/run runs it.
#
#   SQUALL_BIN=target/debug/squall tests/peers/schemathesis.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
peers="${CARGO_TARGET_DIR:-$repo/target}/peers/schemathesis"
version="${SCHEMATHESIS_VERSION:-4.32.5}"
examples="${SCHEMATHESIS_EXAMPLES:-100}"
budget="${SCHEMATHESIS_TIMEOUT:-600}"

st="$peers/venv/bin/schemathesis"
if ! "$st" --version 2>/dev/null | grep -q "version $version\$"; then
    mkdir -p "$peers"
    # --clear: a venv whose scripts point at a path that moved (a target
    # directory renamed) is rebuilt, not reused half-broken.
    timeout 120 python3 -m venv --clear "$peers/venv" >&2
    timeout 300 "$peers/venv/bin/python" -m pip install --quiet "schemathesis==$version" >&2
fi

bin="${SQUALL_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --locked --quiet --bin squall
    bin="${CARGO_TARGET_DIR:-$repo/target}/debug/squall"
fi

tmp="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
token="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"

# The example brand, with one token that may do everything: each endpoint
# is then reached past its auth check (401/403 are tested by tests/api.rs).
{
    cat examples/squall.yaml
    printf '\nserver:\n  tokens:\n    schemathesis: {roles: [commander, staff, viewer, ingest, monitor], env: SQUALL_SCHEMATHESIS_TOKEN}\n'
} >"$tmp/squall.yaml"

SQUALL_SCHEMATHESIS_TOKEN="$token" \
SQUALL_STORE="sqlite://$tmp/squall.db?mode=rwc" \
SQUALL_PLAYBOOKS="$repo/playbooks" \
SQUALL_TEMPLATES="$repo/templates" \
    "$bin" serve --config "$tmp/squall.yaml" --listen "127.0.0.1:$port" >"$tmp/serve.log" 2>&1 &
pid=$!

for _ in $(seq 150); do
    curl -sf "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "squall serve exited:"; cat "$tmp/serve.log"; exit 1; }
    sleep 0.2
done
curl -sf "$base/readyz" >/dev/null || { echo "squall serve not ready after 30 s:"; cat "$tmp/serve.log"; exit 1; }

auth="Authorization: Bearer $token"
# Something to read back: a declared incident, then a morning of mentions
# from the example stream (reply drafts for it).
curl -sf -H "$auth" -H 'Content-Type: application/json' -d '{"playbook": "site-down", "note": "schemathesis seed"}' \
    "$base/v1/incidents" >/dev/null
head -n 400 examples/mentions.ndjson | curl -sf -H "$auth" -H 'Content-Type: application/x-ndjson' \
    --data-binary @- "$base/v1/mentions" >/dev/null
first_id() { # the first "id" in a list answer: KEY (or "" for a bare array)
    curl -sf -H "$auth" "$1" | python3 -c '
import json, sys
items = json.load(sys.stdin)
items = items[sys.argv[1]] if sys.argv[1] else items
print(items[0]["id"] if items else "none")' "$2"
}
incident="$(first_id "$base/v1/incidents" "")"
draft="$(first_id "$base/v1/drafts?state=all" drafts)"
echo "seeded: incident $incident, draft $draft"
# Operations on one incident or draft get a real id, so that generated
# bodies reach the handlers' logic (state changes, approvals, claims)
# rather than stopping at 404.
cat >"$tmp/schemathesis.toml" <<TOML
[[operations]]
include-path-regex = "^/v1/incidents/"
parameters = { "path.id" = "$incident" }

[[operations]]
include-path-regex = "^/v1/drafts/"
parameters = { "path.id" = "$draft" }
TOML

echo "schemathesis $version against $base/openapi.json (at most $examples cases an operation, ${budget} s)"
set +e
# /v1/events is a Server-Sent Events stream: it never ends, by design.
# From the scratch directory: schemathesis keeps its example database in
# the working directory, and the checkout stays clean.
cd "$tmp"
timeout --signal=INT "$budget" "$st" --config-file "$tmp/schemathesis.toml" run "$base/openapi.json" \
    --header "$auth" \
    --checks not_a_server_error,response_schema_conformance \
    --exclude-path /v1/events \
    --max-examples "$examples" \
    --request-timeout 15 \
    --workers 2 \
    --seed "${SCHEMATHESIS_SEED:-20261201}" \
    --no-color \
    --report junit --report-dir "$tmp/report"
status=$?
set -e

if ! kill -0 "$pid" 2>/dev/null; then
    echo "squall serve died during the run; its log ends:"
    tail -n 60 "$tmp/serve.log"
    status=1
elif grep -q 'panicked' "$tmp/serve.log"; then
    echo "squall serve panicked during the run:"
    grep -A5 'panicked' "$tmp/serve.log" | head -n 40
    status=1
fi
if [ "$status" -eq 124 ]; then
    echo "schemathesis did not finish in ${budget} s"
fi
exit "$status"
