"""Connection settings shared by the Python client programs.

The Rust test that runs these programs (tests/tests/integration/client_drivers.rs) passes the leader's port
in BLUESHIFT_PORT; each program works in its own schema so that they can run side by side.
"""

import os

HOST = "127.0.0.1"
PORT = int(os.environ.get("BLUESHIFT_PORT", "5439"))
USER = "awsuser"
DATABASE = "dev"
DSN = f"host={HOST} port={PORT} user={USER} dbname={DATABASE}"


def check(actual, expected, what):
    """Fails the program with both values when `actual` is not `expected`."""
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")
