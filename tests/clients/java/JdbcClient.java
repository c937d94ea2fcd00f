// pgjdbc (Debian's libpostgresql-jdbc-java) against Blueshift: DatabaseMetaData (schemas, tables
// with their comments, columns), a PreparedStatement run past prepareThreshold so the driver
// switches to a named server-side statement with binary transfer, and ResultSetMetaData.
// Run as a single-file program: java -cp postgresql.jar JdbcClient.java <port>

import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcClient {
    static void check(Object actual, Object expected, String what) {
        if (!Objects.equals(actual, expected)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + actual);
        }
    }

    static List<List<Object>> rows(ResultSet rs, String... columns) throws SQLException {
        List<List<Object>> out = new ArrayList<>();
        while (rs.next()) {
            List<Object> row = new ArrayList<>();
            for (String c : columns) row.add(rs.getObject(c));
            out.add(row);
        }
        rs.close();
        return out;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/dev?user=awsuser&prepareThreshold=5";
        try (Connection conn = DriverManager.getConnection(url)) {
            try (Statement st = conn.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS java_jdbc CASCADE");
                st.execute("CREATE SCHEMA java_jdbc");
                st.execute("CREATE TABLE java_jdbc.orders (id INT NOT NULL, customer VARCHAR(30) DEFAULT 'anon', "
                    + "total DECIMAL(12,2), placed TIMESTAMP, PRIMARY KEY (id)) DISTKEY(id) SORTKEY(placed)");
                st.execute("COMMENT ON TABLE java_jdbc.orders IS 'all orders'");
                st.execute("CREATE VIEW java_jdbc.big_orders AS SELECT id, total FROM java_jdbc.orders WHERE total > 100");
            }
            DatabaseMetaData md = conn.getMetaData();
            check(md.getDatabaseProductVersion(), "8.0.2", "product version");

            List<String> schemas = new ArrayList<>();
            for (List<Object> r : rows(md.getSchemas(), "TABLE_SCHEM")) schemas.add((String) r.get(0));
            check(schemas.containsAll(List.of("java_jdbc", "public", "pg_catalog", "information_schema")), true, "getSchemas " + schemas);

            check(rows(md.getTables(null, "java_jdbc", "%", new String[] {"TABLE", "VIEW"}), "TABLE_NAME", "TABLE_TYPE", "REMARKS"),
                List.of(List.of("orders", "TABLE", "all orders"), Arrays.asList("big_orders", "VIEW", null)),
                "getTables");

            check(rows(md.getColumns(null, "java_jdbc", "orders", "%"), "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE", "NULLABLE", "COLUMN_DEF"),
                List.of(
                    Arrays.asList("id", Types.INTEGER, "int4", 10, DatabaseMetaData.columnNoNulls, null),
                    Arrays.asList("customer", Types.VARCHAR, "varchar", 30, DatabaseMetaData.columnNullable, "'anon'"),
                    Arrays.asList("total", Types.NUMERIC, "numeric", 12, DatabaseMetaData.columnNullable, null),
                    Arrays.asList("placed", Types.TIMESTAMP, "timestamp", 29, DatabaseMetaData.columnNullable, null)),
                "getColumns");

            // Keys are informational, as in Redshift, yet listed in pg_index like PostgreSQL's,
            // which is where the driver looks for them.
            check(rows(md.getPrimaryKeys(null, "java_jdbc", "orders"), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"),
                List.of(List.of("orders", "id", 1, "orders_pkey")),
                "getPrimaryKeys");
            check(rows(md.getIndexInfo(null, "java_jdbc", "orders", true, false), "INDEX_NAME", "NON_UNIQUE", "COLUMN_NAME"),
                List.of(List.of("orders_pkey", false, "id")),
                "getIndexInfo");

            // getTypeInfo: every type with its java.sql.Types code.
            Map<String, Integer> typeInfo = new HashMap<>();
            for (List<Object> r : rows(md.getTypeInfo(), "TYPE_NAME", "DATA_TYPE")) typeInfo.put((String) r.get(0), (Integer) r.get(1));
            check(typeInfo.get("int4"), Types.INTEGER, "getTypeInfo int4");
            check(typeInfo.get("int8"), Types.BIGINT, "getTypeInfo int8");
            check(typeInfo.get("varchar"), Types.VARCHAR, "getTypeInfo varchar");
            check(typeInfo.get("numeric"), Types.NUMERIC, "getTypeInfo numeric");
            check(typeInfo.get("timestamp"), Types.TIMESTAMP, "getTypeInfo timestamp");
            check(typeInfo.get("bool"), Types.BIT, "getTypeInfo bool");

            // Past prepareThreshold executions the driver uses a named server-side statement and
            // binary results; values must be the same on every run.
            try (PreparedStatement insert = conn.prepareStatement("INSERT INTO java_jdbc.orders (id, customer, total, placed) VALUES (?, ?, ?, ?)")) {
                for (int i = 1; i <= 12; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, "customer " + i);
                    insert.setBigDecimal(3, new BigDecimal(i * 25).add(new BigDecimal("0.50")));
                    insert.setTimestamp(4, Timestamp.valueOf("2024-01-" + String.format("%02d", i) + " 10:00:00.25"));
                    check(insert.executeUpdate(), 1, "insert " + i);
                }
            }
            try (PreparedStatement select = conn.prepareStatement("SELECT id, customer, total, placed FROM java_jdbc.orders WHERE id = ?")) {
                for (int i = 1; i <= 12; i++) {
                    select.setInt(1, i);
                    try (ResultSet rs = select.executeQuery()) {
                        check(rs.next(), true, "row " + i);
                        check(rs.getInt(1), i, "id " + i);
                        check(rs.getString(2), "customer " + i, "customer " + i);
                        check(rs.getBigDecimal(3), new BigDecimal(i * 25).add(new BigDecimal("0.50")), "total " + i);
                        check(rs.getTimestamp(4), Timestamp.valueOf("2024-01-" + String.format("%02d", i) + " 10:00:00.25"), "placed " + i);
                        if (i == 12) {
                            ResultSetMetaData rsmd = rs.getMetaData();
                            check(rsmd.getColumnCount(), 4, "column count");
                            check(rsmd.getColumnName(2), "customer", "column name");
                            check(rsmd.getColumnType(1), Types.INTEGER, "column type id");
                            check(rsmd.getColumnTypeName(3), "numeric", "column type total");
                            check(rsmd.getPrecision(3), 12, "precision");
                            check(rsmd.getScale(3), 2, "scale");
                            check(rsmd.getColumnType(4), Types.TIMESTAMP, "column type placed");
                            // From RowDescription's table OID and attnum, looked up in pg_class/pg_attribute.
                            org.postgresql.PGResultSetMetaData pgmd = rsmd.unwrap(org.postgresql.PGResultSetMetaData.class);
                            check(pgmd.getBaseTableName(2), "orders", "base table name");
                            check(pgmd.getBaseSchemaName(2), "java_jdbc", "base schema name");
                            check(pgmd.getBaseColumnName(2), "customer", "base column name");
                        }
                    }
                }
            }
            check(select(conn, "SELECT count(*) FROM java_jdbc.big_orders"), 9L, "view count");

            // Transactions and an error that only aborts its transaction.
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("DELETE FROM java_jdbc.orders WHERE id > 10");
                conn.rollback();
                try {
                    st.executeQuery("SELECT nope FROM java_jdbc.orders");
                    throw new AssertionError("expected an error");
                } catch (SQLException e) {
                    check(e.getSQLState(), "42703", "sqlstate");
                }
                conn.rollback();
            }
            conn.setAutoCommit(true);
            check(select(conn, "SELECT count(*) FROM java_jdbc.orders"), 12L, "rolled back delete");
        }
        System.out.println("jdbc ok");
    }

    static Object select(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getObject(1);
        }
    }
}
