"""psycopg 3: binary parameters and results, server-side prepared statements reused many times,
executemany over the extended protocol, and the DEALLOCATE ALL it sends after a rollback."""

import datetime
import decimal

import psycopg

from common import DSN, check

with psycopg.connect(DSN, autocommit=True) as conn:
    conn.execute("DROP SCHEMA IF EXISTS py_psycopg3 CASCADE")
    conn.execute("CREATE SCHEMA py_psycopg3")
    conn.execute("SET search_path TO py_psycopg3")
    conn.execute(
        "CREATE TABLE events (id BIGINT, kind SMALLINT, label VARCHAR(30), amount DECIMAL(12,3), "
        "at TIMESTAMPTZ, day DATE, ok BOOLEAN, score REAL) DISTSTYLE EVEN"
    )
    at = datetime.datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=datetime.timezone.utc)
    rows = [
        (i, i % 3, f"event {i}", decimal.Decimal(i) / 8, at + datetime.timedelta(hours=i), datetime.date(2024, 3, 1 + i), i % 2 == 0, i * 0.5)
        for i in range(10)
    ]
    with conn.cursor(binary=True) as cur:
        # Binary parameters ("%b") for every column type, through executemany's prepared statement.
        cur.executemany("INSERT INTO events VALUES (%b, %b, %b, %b, %b, %b, %b, %b)", rows)
        cur.execute("SELECT * FROM events ORDER BY id")
        check([c.type_code for c in cur.description], [20, 21, 1043, 1700, 1184, 1082, 16, 700], "binary type oids")
        got = cur.fetchall()
        check(got, rows, "binary round trip")
        check(cur.pgresult.fformat(0), 1, "result format is binary")

    # prepare=True names a server-side statement; it is bound and executed many times.
    with conn.cursor() as cur:
        for i in range(10):
            cur.execute("SELECT label, amount FROM events WHERE id = %b", (i,), prepare=True)
            check(cur.fetchone(), (f"event {i}", decimal.Decimal(i) / 8), f"prepared run {i}")

    # The default threshold prepares after 5 executions of the same query.
    with conn.cursor() as cur:
        for i in range(8):
            cur.execute("SELECT count(*) FROM events WHERE kind = %s", (i % 3,))
            check(cur.fetchone()[0], [4, 3, 3][i % 3], f"auto-prepared run {i}")

    # A failed transaction block rolls back; psycopg then forgets its prepared statements with
    # DEALLOCATE ALL and prepares them again.
    try:
        with conn.transaction():
            conn.execute("UPDATE events SET label = 'gone'")
            conn.execute("SELECT 1/0")
        raise AssertionError("expected division by zero")
    except psycopg.errors.DivisionByZero as e:
        check(e.sqlstate, "22012", "sqlstate")
    with conn.cursor() as cur:
        for i in range(3):
            cur.execute("SELECT label FROM events WHERE id = %b", (i,), prepare=True)
            check(cur.fetchone(), (f"event {i}",), f"prepared again, run {i}")
    conn.execute("DEALLOCATE ALL")
    check(conn.execute("SELECT %s::int", ("42",)).fetchone()[0], 42, "after DEALLOCATE ALL")
print("psycopg3 ok")
