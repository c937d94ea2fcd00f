"""SQLAlchemy with the sqlalchemy-redshift dialect (over psycopg2), and pandas on top of it:
inspect() reflection (table names, columns with Redshift's types, primary keys, views),
pandas.read_sql, and DataFrame.to_sql, which creates its table through the dialect and inserts
with executemany."""

import datetime
import decimal

import pandas
import sqlalchemy
from sqlalchemy import text

from common import DATABASE, HOST, PORT, USER, check

# The dialect asks for verify-full TLS by default; the test cluster listens in plain text.
engine = sqlalchemy.create_engine(f"redshift+psycopg2://{USER}@{HOST}:{PORT}/{DATABASE}", connect_args={"sslmode": "disable"})
with engine.begin() as conn:
    conn.execute(text("DROP SCHEMA IF EXISTS py_sqlalchemy CASCADE"))
    conn.execute(text("CREATE SCHEMA py_sqlalchemy"))
    conn.execute(
        text(
            "CREATE TABLE py_sqlalchemy.customers (id INT NOT NULL, name VARCHAR(40) NOT NULL, "
            "balance DECIMAL(12,2), joined DATE, PRIMARY KEY (id)) DISTKEY(id) SORTKEY(joined)"
        )
    )
    conn.execute(
        text("INSERT INTO py_sqlalchemy.customers VALUES (1, 'ann', 10.50, '2024-01-02'), (2, 'bob', NULL, NULL)")
    )
    conn.execute(text("CREATE VIEW py_sqlalchemy.rich AS SELECT id, name FROM py_sqlalchemy.customers WHERE balance > 5"))

inspector = sqlalchemy.inspect(engine)
check(inspector.get_table_names(schema="py_sqlalchemy"), ["customers"], "get_table_names")
check(inspector.get_view_names(schema="py_sqlalchemy"), ["rich"], "get_view_names")
columns = inspector.get_columns("customers", schema="py_sqlalchemy")
check([c["name"] for c in columns], ["id", "name", "balance", "joined"], "column names")
check([str(c["type"]) for c in columns], ["INTEGER", "VARCHAR(40)", "NUMERIC(12, 2)", "DATE"], "column types")
check([c["nullable"] for c in columns], [False, False, True, True], "nullability")
check([c["info"].get("encode") for c in columns], ["az64", "lzo", "az64", None], "column encodings (the sort key column is raw)")
options = inspector.get_table_options("customers", schema="py_sqlalchemy")
check(
    (options.get("redshift_diststyle"), options.get("redshift_distkey"), options.get("redshift_sortkey")),
    ("KEY", "id", ("joined",)),
    "table options",
)
pk = inspector.get_pk_constraint("customers", schema="py_sqlalchemy")
check((pk["name"], pk["constrained_columns"]), ("customers_pkey", ["id"]), "get_pk_constraint")
check([c["name"] for c in inspector.get_columns("rich", schema="py_sqlalchemy")], ["id", "name"], "view columns")

frame = pandas.read_sql("SELECT id, name, balance, joined FROM py_sqlalchemy.customers ORDER BY id", engine)
check(list(frame.columns), ["id", "name", "balance", "joined"], "read_sql columns")
check(frame["id"].tolist(), [1, 2], "read_sql ids")
check(frame["name"].tolist(), ["ann", "bob"], "read_sql names")
check(frame["balance"][0], decimal.Decimal("10.50"), "read_sql decimal")
check(frame["joined"][0], datetime.date(2024, 1, 2), "read_sql date")

scores = pandas.DataFrame(
    {"player": ["x", "y", "z"], "points": [3, 14, 15], "ratio": [0.5, 1.25, -2.0], "active": [True, False, True]}
)
check(scores.to_sql("scores", engine, schema="py_sqlalchemy", index=False, method="multi"), 3, "to_sql rows")
check(sqlalchemy.inspect(engine).has_table("scores", schema="py_sqlalchemy"), True, "to_sql created the table")
back = pandas.read_sql(text("SELECT * FROM py_sqlalchemy.scores WHERE points > :least ORDER BY player"), engine, params={"least": 1})
check(back.to_dict("list"), {"player": ["x", "y", "z"], "points": [3, 14, 15], "ratio": [0.5, 1.25, -2.0], "active": [True, False, True]}, "to_sql round trip")
appended = pandas.DataFrame({"player": ["w"], "points": [0], "ratio": [0.0], "active": [False]})
appended.to_sql("scores", engine, schema="py_sqlalchemy", index=False, if_exists="append")
check(pandas.read_sql("SELECT count(*) AS n FROM py_sqlalchemy.scores", engine)["n"][0], 4, "to_sql append")
check(
    [c["name"] for c in sqlalchemy.inspect(engine).get_columns("scores", schema="py_sqlalchemy")],
    ["player", "points", "ratio", "active"],
    "to_sql table columns",
)
print("sqlalchemy ok")
