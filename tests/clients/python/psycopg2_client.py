"""psycopg2 (libpq, text protocol): typed round trips, server-side parameters, a named cursor
(DECLARE/FETCH), error recovery and a pg_type lookup."""

import datetime
import decimal

import psycopg2
import psycopg2.extras

from common import DSN, check

conn = psycopg2.connect(DSN)
cur = conn.cursor()
check(conn.server_version, 80002, "server_version")
cur.execute("DROP SCHEMA IF EXISTS py_psycopg2 CASCADE")
cur.execute("CREATE SCHEMA py_psycopg2")
cur.execute("SET search_path TO py_psycopg2")
cur.execute(
    "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2), "
    "added DATE, seen TIMESTAMP, flag BOOLEAN, ratio DOUBLE PRECISION) DISTKEY(id) SORTKEY(id)"
)
rows = [
    (1, "apple", decimal.Decimal("1.25"), datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5, 600000), True, 0.5),
    (2, "pear", decimal.Decimal("-3.10"), datetime.date(2023, 12, 31), datetime.datetime(2023, 12, 31, 23, 59, 59), False, -2.25),
    (3, "fig", None, None, None, None, None),
]
psycopg2.extras.execute_values(cur, "INSERT INTO items VALUES %s", rows)
check(cur.rowcount, 3, "rows inserted")
conn.commit()

cur.execute("SELECT * FROM items WHERE id <= %s ORDER BY id", (3,))
check(cur.fetchall(), rows, "round trip")
# Type OIDs in the result description: int4, varchar, numeric, date, timestamp, bool, float8.
check([d.type_code for d in cur.description], [23, 1043, 1700, 1082, 1114, 16, 701], "type oids")
# psycopg2's simple-protocol description: each column's table OID and attnum, none (0 on the wire) for an expression.
cur.execute("SELECT name, price + 1 FROM items LIMIT 1")
cur.fetchall()
items_oid = cur.description[0].table_oid
cur.execute("SELECT oid FROM pg_class WHERE relname = 'items'")
check(items_oid, cur.fetchone()[0], "table oid")
cur.execute("SELECT name, price + 1 FROM items LIMIT 1")
check([(d.table_oid, d.table_column) for d in cur.description], [(items_oid, 2), (None, None)], "column sources")

cur.execute("SELECT name FROM items WHERE name = %s AND price > %s", ("apple", decimal.Decimal("1")))
check(cur.fetchone(), ("apple",), "text parameters")

# A named cursor is DECLARE ... CURSOR / FETCH FORWARD inside a transaction.
named = conn.cursor("walk")
named.itersize = 2
named.execute("SELECT id FROM items ORDER BY id")
check([r[0] for r in named], [1, 2, 3], "named cursor")
named.close()
conn.commit()

# An error rolls back only its transaction; the connection stays usable.
try:
    cur.execute("SELECT * FROM no_such_table")
    raise AssertionError("expected an error")
except psycopg2.errors.UndefinedTable as e:
    check(e.pgcode, "42P01", "sqlstate")
conn.rollback()
cur.execute("SELECT count(*) FROM items")
check(cur.fetchone()[0], 3, "count after rollback")

# An integer literal is an int4, as in PostgreSQL and Redshift; a larger one an int8.
cur.execute("SELECT 1, 3000000000")
check([d.type_code for d in cur.description], [23, 20], "literal type oids")
check(cur.fetchone(), (1, 3000000000), "literal values")

# psycopg2.extras.register_composite and friends look types up in pg_type.
cur.execute("SELECT oid, typname FROM pg_catalog.pg_type WHERE typname = %s", ("int4",))
check(cur.fetchone(), (23, "int4"), "pg_type lookup")
conn.close()
print("psycopg2 ok")
