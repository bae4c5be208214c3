// The API of the compose shop: counts visits in PostgreSQL (they survive a redeploy: the
// database is in a named volume) and caches the product list in Redis for 30 seconds.
const http = require('node:http');
const postgres = require('./postgres');
const redis = require('./redis');

/** A connection opened on first use and again after it closed. */
function lazily(open) {
  let current = null;
  return () => {
    if (!current) {
      current = open().then(
        (conn) => {
          conn.closed.then(() => (current = null));
          return conn;
        },
        (error) => {
          current = null;
          throw error;
        },
      );
    }
    return current;
  };
}

const db = lazily(() =>
  postgres.connect({
    host: process.env.PGHOST,
    user: process.env.PGUSER,
    password: process.env.PGPASSWORD,
    database: process.env.PGDATABASE,
  }),
);
const cache = lazily(() => redis.connect({ host: process.env.REDIS_HOST }));

async function visits() {
  const [row] = await (await db()).query('INSERT INTO visits DEFAULT VALUES; SELECT count(*) AS visits FROM visits');
  return { visits: Number(row.visits) };
}

async function products() {
  const cached = await (await cache()).command('GET', 'products');
  if (cached) return { source: 'redis', products: JSON.parse(cached) };
  const rows = await (await db()).query('SELECT sku, name, cents FROM products ORDER BY sku');
  const list = rows.map((r) => ({ sku: r.sku, name: r.name, cents: Number(r.cents) }));
  await (await cache()).command('SET', 'products', JSON.stringify(list), 'EX', '30');
  return { source: 'postgres', products: list };
}

const routes = { '/api/visits': visits, '/api/products': products };

http
  .createServer(async (req, res) => {
    if (req.url === '/healthz') return res.end('ok\n');
    const handler = routes[req.url];
    res.setHeader('Content-Type', 'application/json');
    if (!handler) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ error: `no route ${req.url}` }) + '\n');
    }
    try {
      res.end(JSON.stringify(await handler()) + '\n');
    } catch (error) {
      res.statusCode = 503;
      res.end(JSON.stringify({ error: error.message }) + '\n');
    }
  })
  .listen(8080, () => console.log('api listening on 8080'));
