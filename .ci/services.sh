#!/usr/bin/env bash
# Installs what the scale-out tests (tests/integration/scale/) need on a Debian/Ubuntu CI machine:
# the PostgreSQL server binaries. Idempotent; a no-op when `initdb` is already there. The tests start
# (and stop) their own PostgreSQL cluster and Ray head on 127.0.0.1 with temp dirs; nothing is left
# running. Ray itself comes from the `ray` extra (pip), not from here.
set -euo pipefail

have_initdb() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

if have_initdb; then
  echo "services.sh: PostgreSQL binaries present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "services.sh: PostgreSQL is missing and this is not root; install the 'postgresql' package" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends postgresql
# The Debian package starts a cluster on port 5432; the tests do not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for cluster in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster "$cluster" main stop 2>/dev/null || true
  done
fi
echo "services.sh: PostgreSQL installed"
