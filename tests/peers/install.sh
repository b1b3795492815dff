#!/usr/bin/env bash
# Installs and starts every real peer the test suite drives, each only when
# it is missing, so a second run takes seconds. `tests/run` (the README's
# test command) and `.ci/run` run this before `cargo test`.
#
# - Prometheus Alertmanager (tests/alertmanager.rs starts and stops its own
#   instance on a free loopback port): Debian's prometheus-alertmanager.
# - An AT Protocol server (tests/atproto_pds.rs): Node 22 and @atproto/pds
#   from the npm registry, under $CARGO_TARGET_DIR/peers/atproto (atproto.sh).
# - Headless Chromium for the dashboard (tests/dashboard.rs): Debian's
#   chromium with fonts for the scripts the dashboard shows, and
#   playwright-core pinned by tests/browser/package-lock.json.
# - An SMTP server (tests/email_digest.rs): aiosmtpd in a venv under
#   $CARGO_TARGET_DIR/peers/smtp (smtp.sh).
# - PostgreSQL on 127.0.0.1:5432 and NATS with JetStream on 127.0.0.1:4222
#   (tests/store.rs, tests/cluster.rs, tests/nats.rs): started when they
#   are installed but not running.
#
# Debian packages need root: as root they are installed directly, otherwise
# through sudo when there is one; else the script stops and says what to run.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "tests/peers/install.sh: needs root for: $*" >&2
        return 1
    fi
}

apt_install() {
    if ! dpkg -s "$@" >/dev/null 2>&1; then
        echo "peers: installing Debian packages: $*"
        [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] \
            || as_root timeout 300 apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive timeout 600 \
            apt-get install -y --no-install-recommends "$@"
    fi
}

port_open() {
    timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# The Debian package may start its own service on install; the tests use
# other ports.
apt_install prometheus-alertmanager
bash tests/peers/atproto.sh
apt_install chromium fonts-dejavu-core fonts-ipafont-gothic
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
    echo "peers: installing playwright-core (npm ci --prefix tests/browser)"
    timeout 300 npm ci --prefix tests/browser --no-audit --no-fund
fi
bash tests/peers/smtp.sh >/dev/null

if ! port_open 5432; then
    echo "peers: starting PostgreSQL"
    as_root timeout 60 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
if ! port_open 4222; then
    echo "peers: starting NATS with JetStream"
    as_root timeout 30 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    for _ in $(seq 50); do port_open 4222 && break; sleep 0.2; done
    port_open 4222 || { echo "peers: NATS did not start (see /var/log/nats-server.log)" >&2; exit 1; }
fi
echo "peers: ready"
