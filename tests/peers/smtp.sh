#!/usr/bin/env bash
# Installs aiosmtpd (a real SMTP server that writes each message it
# receives into a Maildir) into a venv under $CARGO_TARGET_DIR/peers/smtp,
# once; later runs reuse it. Prints the venv's python on success.
# tests/email_digest.rs runs this itself; tests/peers/install.sh runs it
# before the tests.
set -euo pipefail
peers="${CARGO_TARGET_DIR:-target}/peers/smtp"
py="$peers/venv/bin/python"
if ! "$py" -c 'import aiosmtpd' >/dev/null 2>&1; then
    mkdir -p "$peers"
    # --clear: a venv whose scripts point at a path that moved (a target
    # directory renamed) is rebuilt, not reused half-broken.
    timeout 120 python3 -m venv --clear "$peers/venv" >&2
    timeout 300 "$peers/venv/bin/python" -m pip install --quiet aiosmtpd >&2
fi
echo "$py"
