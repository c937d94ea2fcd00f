#!/usr/bin/env bash
# Installs the client runtimes and drivers that tests/tests/integration/client_drivers.rs runs against a
# cluster: Debian packages for the JDK and pgjdbc, a Python venv and node-postgres under
# target/clients. Idempotent and quick when everything is already there; only prebuilt wheels.
set -euo pipefail
started=$SECONDS
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/target/clients"
mkdir -p "$dir"

missing=()
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv python3-pip)
command -v javac >/dev/null || missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$dir/venv/bin/python" ]; then
  python3 -m venv "$dir/venv"
fi
"$dir/venv/bin/pip" install -q --disable-pip-version-check --only-binary=:all: \
  -r "$root/tests/clients/python/requirements.txt"

if ! cmp -s "$root/tests/clients/node/package-lock.json" "$dir/node/package-lock.json"; then
  mkdir -p "$dir/node"
  cp "$root/tests/clients/node/package.json" "$root/tests/clients/node/package-lock.json" "$dir/node/"
  (cd "$dir/node" && npm ci --silent --no-audit --no-fund)
fi
echo "client drivers installed in $((SECONDS - started))s"
