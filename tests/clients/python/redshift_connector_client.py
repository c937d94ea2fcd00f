"""redshift_connector, AWS's driver: it connects with its extra startup parameters
(client_protocol_version, driver_version, os_version, ...), then uses its metadata API, which
reads the catalog with Redshift-specific queries."""

import datetime
import decimal

import redshift_connector

from common import DATABASE, HOST, PORT, USER, check

conn = redshift_connector.connect(host=HOST, port=PORT, user=USER, database=DATABASE, password="", ssl=False)
conn.autocommit = True
cur = conn.cursor()
cur.execute("DROP SCHEMA IF EXISTS py_redshift CASCADE")
cur.execute("CREATE SCHEMA py_redshift")
cur.execute(
    "CREATE TABLE py_redshift.sales (id INT NOT NULL, region CHAR(2), amount DECIMAL(10,2), sold DATE, "
    "PRIMARY KEY (id)) DISTKEY(region) COMPOUND SORTKEY(sold, id)"
)
cur.executemany(
    "INSERT INTO py_redshift.sales VALUES (%s, %s, %s, %s)",
    [(1, "eu", decimal.Decimal("10.50"), datetime.date(2024, 1, 1)), (2, "us", decimal.Decimal("7.25"), datetime.date(2024, 1, 2))],
)
cur.execute("SELECT id, region, amount, sold FROM py_redshift.sales ORDER BY id")
check(
    list(cur.fetchall()),
    [[1, "eu", decimal.Decimal("10.50"), datetime.date(2024, 1, 1)], [2, "us", decimal.Decimal("7.25"), datetime.date(2024, 1, 2)]],
    "rows",
)
check([d[0] for d in cur.description], ["id", "region", "amount", "sold"], "column names")


# Metadata API: schemas and tables through the driver's catalog queries.
schemas = [r[0] for r in cur.get_schemas(schema_pattern="py_redshift")]
check(schemas, ["py_redshift"], "get_schemas")
tables = cur.get_tables(schema_pattern="py_redshift", table_name_pattern="sales")
check([(r[1], r[2], r[3]) for r in tables], [("py_redshift", "sales", "TABLE")], "get_tables")

keys = cur.get_primary_keys(schema="py_redshift", table="sales")
check([tuple(r[1:6]) for r in keys], [("py_redshift", "sales", "id", 1, "sales_pkey")], "get_primary_keys")

cur.execute("SELECT sum(amount), count(*) FROM py_redshift.sales")
check(cur.fetchone(), [decimal.Decimal("17.75"), 2], "aggregate")
conn.close()
print("redshift_connector ok")
