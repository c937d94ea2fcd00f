// node-postgres (`pg`) against Blueshift: text results parsed by its type parsers, parameterized
// queries, named prepared statements reused many times, a transaction rolled back, and the
// column type OIDs in each result's fields.
'use strict';
const assert = require('node:assert/strict');
const { Client } = require('pg');

async function main() {
  const client = new Client({ host: '127.0.0.1', port: Number(process.env.BLUESHIFT_PORT), user: 'awsuser', database: 'dev' });
  await client.connect();
  await client.query('DROP SCHEMA IF EXISTS node_pg CASCADE');
  await client.query('CREATE SCHEMA node_pg');
  await client.query(
    'CREATE TABLE node_pg.visits (id INT PRIMARY KEY, page VARCHAR(100), ms BIGINT, ratio DOUBLE PRECISION, ' +
      'at TIMESTAMP, day DATE, ok BOOLEAN, cost DECIMAL(8,3)) DISTKEY(id)',
  );
  for (let i = 0; i < 8; i++) {
    const result = await client.query({
      name: 'insert-visit',
      text: 'INSERT INTO node_pg.visits VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      values: [i, `/page/${i}`, 1000 * i, i / 8, new Date(Date.UTC(2024, 0, 1 + i, 12, 0, 0, 5)), '2024-02-0' + (i + 1), i % 2 === 0, (i * 1.125).toFixed(3)],
    });
    assert.equal(result.rowCount, 1);
  }

  const res = await client.query('SELECT * FROM node_pg.visits WHERE id = $1', [3]);
  assert.deepEqual(res.fields.map((f) => [f.name, f.dataTypeID]), [
    ['id', 23], ['page', 1043], ['ms', 20], ['ratio', 701], ['at', 1114], ['day', 1082], ['ok', 16], ['cost', 1700],
  ]);
  const row = res.rows[0];
  assert.equal(row.id, 3);
  assert.equal(row.page, '/page/3');
  assert.equal(row.ms, '3000'); // int8 stays a string in node-postgres
  assert.equal(row.ratio, 0.375);
  assert.ok(row.at instanceof Date);
  assert.equal(row.at.getFullYear(), 2024); // TIMESTAMP is read as local time
  assert.equal(row.day.getDate(), 4);
  assert.equal(row.ok, false);
  assert.equal(row.cost, '3.375');

  // A named statement: parsed once, then bound and executed many times.
  for (let i = 0; i < 8; i++) {
    const r = await client.query({ name: 'by-id', text: 'SELECT page, ok FROM node_pg.visits WHERE id = $1', values: [i] });
    assert.deepEqual(r.rows, [{ page: `/page/${i}`, ok: i % 2 === 0 }]);
  }

  await client.query('BEGIN');
  await client.query('DELETE FROM node_pg.visits');
  await client.query('ROLLBACK');
  const count = await client.query('SELECT count(*)::int AS n, sum(ms) AS total FROM node_pg.visits');
  assert.deepEqual(count.rows, [{ n: 8, total: '28000' }]);

  await assert.rejects(client.query('SELECT * FROM node_pg.missing'), (e) => e.code === '42P01');
  const after = await client.query('SELECT $1::int AS answer', ['42']);
  assert.equal(after.rows[0].answer, 42);
  await client.end();
  console.log('node-postgres ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
