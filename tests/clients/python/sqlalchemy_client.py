"""SQLAlchemy with the sqlalchemy-redshift dialect over psycopg2: reflection through inspect()
(table names, columns with types, primary keys, comments), Core queries, and pandas'
DataFrame.to_sql / read_sql through the same engine."""

import datetime

import pandas as pd
import sqlalchemy as sa

from common import HOST, PORT, USER, DATABASE, check

engine = sa.create_engine(f"redshift+psycopg2://{USER}@{HOST}:{PORT}/{DATABASE}?sslmode=disable")
with engine.begin() as conn:
    conn.exec_driver_sql("DROP SCHEMA IF EXISTS py_sqlalchemy CASCADE")
    conn.exec_driver_sql("CREATE SCHEMA py_sqlalchemy")
    conn.exec_driver_sql(
        "CREATE TABLE py_sqlalchemy.customers (id INTEGER NOT NULL, name VARCHAR(50) NOT NULL, "
        "joined DATE, score DOUBLE PRECISION, PRIMARY KEY (id)) DISTKEY(id) SORTKEY(joined)"
    )
    conn.exec_driver_sql("COMMENT ON TABLE py_sqlalchemy.customers IS 'people who buy'")
    conn.exec_driver_sql("COMMENT ON COLUMN py_sqlalchemy.customers.name IS 'full name'")
    conn.exec_driver_sql("CREATE VIEW py_sqlalchemy.recent AS SELECT id, name FROM py_sqlalchemy.customers WHERE joined > '2024-01-01'")

inspector = sa.inspect(engine)
check(inspector.get_table_names(schema="py_sqlalchemy"), ["customers"], "table names")
check(inspector.get_view_names(schema="py_sqlalchemy"), ["recent"], "view names")
check("py_sqlalchemy" in inspector.get_schema_names(), True, "schema names")
columns = inspector.get_columns("customers", schema="py_sqlalchemy")
check(
    [(c["name"], str(c["type"]), c["nullable"]) for c in columns],
    [("id", "INTEGER", False), ("name", "VARCHAR(50)", False), ("joined", "DATE", True), ("score", "DOUBLE_PRECISION", True)],
    "columns",
)
check(columns[1]["comment"], "full name", "column comment")
check(inspector.get_pk_constraint("customers", schema="py_sqlalchemy")["constrained_columns"], ["id"], "primary key")
check(inspector.get_table_comment("customers", schema="py_sqlalchemy")["text"], "people who buy", "table comment")
check([c["name"] for c in inspector.get_columns("recent", schema="py_sqlalchemy")], ["id", "name"], "view columns")

# Reflected into a Table, then used for Core inserts and selects.
customers = sa.Table("customers", sa.MetaData(), autoload_with=engine, schema="py_sqlalchemy")
with engine.begin() as conn:
    conn.execute(customers.insert(), [
        {"id": 1, "name": "Ada", "joined": datetime.date(2024, 3, 1), "score": 9.5},
        {"id": 2, "name": "Brian", "joined": datetime.date(2023, 7, 9), "score": None},
    ])
with engine.connect() as conn:
    rows = conn.execute(sa.select(customers.c.name, customers.c.score).where(customers.c.id > 0).order_by(customers.c.id)).all()
    check([tuple(r) for r in rows], [("Ada", 9.5), ("Brian", None)], "core select")
    check(conn.execute(sa.text("SELECT name FROM py_sqlalchemy.recent")).scalar_one(), "Ada", "view")

# pandas: write a frame as a new table, read it back with its dtypes.
frame = pd.DataFrame({
    "city": ["Oslo", "Lima", "Pune"],
    "population": [709000, 10000000, 3100000],
    "area": [454.0, 2672.3, 331.3],
    "founded": pd.to_datetime(["2001-01-01", "2002-02-02", "2003-03-03"]),
})
frame.to_sql("cities", engine, schema="py_sqlalchemy", index=False, method="multi")
check(sa.inspect(engine).has_table("cities", schema="py_sqlalchemy"), True, "to_sql created the table")
back = pd.read_sql("SELECT * FROM py_sqlalchemy.cities ORDER BY city", engine)
check(list(back.columns), ["city", "population", "area", "founded"], "read_sql columns")
check([str(t) for t in back.dtypes], ["object", "int64", "float64", "datetime64[ns]"], "read_sql dtypes")
check(back["city"].tolist(), ["Lima", "Oslo", "Pune"], "read_sql values")
check(back["population"].tolist(), [10000000, 709000, 3100000], "read_sql integers")
check(back["founded"].dt.year.tolist(), [2002, 2001, 2003], "read_sql timestamps")
# Appending to the existing table.
frame.head(1).to_sql("cities", engine, schema="py_sqlalchemy", index=False, if_exists="append")
check(pd.read_sql("SELECT count(*) AS n FROM py_sqlalchemy.cities", engine)["n"][0], 4, "appended")
print("sqlalchemy ok")
