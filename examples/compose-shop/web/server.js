// The web front of the compose shop: one static page, which calls the API through the
// gateway (/api routes to the api service).
const fs = require('node:fs');
const http = require('node:http');

const page = fs
  .readFileSync(`${__dirname}/index.html`, 'utf8')
  .replaceAll('{{title}}', process.env.SHOP_TITLE || 'Shop');

http
  .createServer((req, res) => {
    if (req.url === '/healthz') return res.end('ok\n');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page);
  })
  .listen(8080, () => console.log('web listening on 8080'));
