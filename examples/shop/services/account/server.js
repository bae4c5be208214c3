// The account service of the sample shop: answers who it is and which version runs.
const http = require('node:http');

const GREETING = 'account service, version 1';

http
  .createServer((req, res) => {
    if (req.url === '/healthz') return res.end('ok');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ service: 'account', greeting: GREETING, path: req.url }) + '\n');
  })
  .listen(8080, () => console.log(`account listening on 8080: ${GREETING}`));
