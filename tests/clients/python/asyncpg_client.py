"""asyncpg (binary protocol, every query a prepared statement): typed results, statement
introspection (parameter and result types from Describe), Redshift detection from the startup
parameters, transactions and errors."""

import asyncio
import datetime
import decimal

import asyncpg

from common import DATABASE, HOST, PORT, USER, check


async def main():
    conn = await asyncpg.connect(host=HOST, port=PORT, user=USER, database=DATABASE)
    # asyncpg recognises Redshift by its padb_revision parameter and then avoids CLOSE ALL,
    # advisory locks and LISTEN when it resets a connection.
    check(conn._server_caps.sql_close_all, False, "Redshift detected (no CLOSE ALL)")
    check(conn._server_caps.advisory_locks, False, "Redshift detected (no advisory locks)")
    check(tuple(conn.get_server_version())[:2], (8, 0), "server version")

    await conn.execute("DROP SCHEMA IF EXISTS py_asyncpg CASCADE")
    await conn.execute("CREATE SCHEMA py_asyncpg")
    await conn.execute(
        "CREATE TABLE py_asyncpg.readings (sensor INT PRIMARY KEY, at TIMESTAMP, value DOUBLE PRECISION, "
        "note VARCHAR(40), total DECIMAL(18,4), day DATE, hot BOOLEAN, small SMALLINT, big BIGINT)"
    )
    at = datetime.datetime(2024, 5, 6, 7, 8, 9, 101112)
    rows = [
        (i, at + datetime.timedelta(minutes=i), i / 4, f"note {i}", decimal.Decimal(i * 1001) / 1000,
         datetime.date(2024, 5, i + 1), i % 2 == 1, i - 2, 10**12 + i)
        for i in range(5)
    ]
    await conn.executemany("INSERT INTO py_asyncpg.readings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", rows)

    stmt = await conn.prepare("SELECT * FROM py_asyncpg.readings WHERE sensor >= $1 ORDER BY sensor")
    check([p.name for p in stmt.get_parameters()], ["int4"], "parameter types")
    check(
        [(a.name, a.type.name) for a in stmt.get_attributes()],
        [("sensor", "int4"), ("at", "timestamp"), ("value", "float8"), ("note", "varchar"), ("total", "numeric"),
         ("day", "date"), ("hot", "bool"), ("small", "int2"), ("big", "int8")],
        "result types",
    )
    got = [tuple(r) for r in await stmt.fetch(0)]
    check(got, rows, "binary round trip")
    for i in range(10):
        check(await stmt.fetchval(4), 4, f"prepared statement run {i}")

    async with conn.transaction():
        await conn.execute("UPDATE py_asyncpg.readings SET note = $1 WHERE sensor = $2", "changed", 3)
    check(await conn.fetchval("SELECT note FROM py_asyncpg.readings WHERE sensor = 3"), "changed", "after commit")
    try:
        await conn.execute("SELECT * FROM py_asyncpg.nothing")
        raise AssertionError("expected an error")
    except asyncpg.UndefinedTableError as e:
        check(e.sqlstate, "42P01", "sqlstate")
    await conn.close()


asyncio.run(main())
print("asyncpg ok")
