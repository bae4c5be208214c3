// A tiny Redis client: one connection, commands sent as RESP arrays, replies read in order.
const net = require('node:net');

/** Parses one RESP reply at `at`; undefined when the buffer does not hold all of it yet. */
function parse(buffer, at) {
  const end = buffer.indexOf('\r\n', at);
  if (end < 0) return undefined;
  const kind = String.fromCharCode(buffer[at]);
  const line = buffer.toString('utf8', at + 1, end);
  if (kind === '+') return { value: line, next: end + 2 };
  if (kind === '-') return { value: new Error(line), next: end + 2 };
  if (kind === ':') return { value: Number(line), next: end + 2 };
  if (kind === '$') {
    const size = Number(line);
    if (size < 0) return { value: null, next: end + 2 };
    if (buffer.length < end + 2 + size + 2) return undefined;
    return { value: buffer.toString('utf8', end + 2, end + 2 + size), next: end + 2 + size + 2 };
  }
  if (kind === '*') {
    const items = [];
    let next = end + 2;
    for (let i = Number(line); i > 0; i--) {
      const item = parse(buffer, next);
      if (!item) return undefined;
      items.push(item.value);
      next = item.next;
    }
    return { value: items, next };
  }
  throw new Error(`unexpected redis reply type ${kind}`);
}

/** Opens a connection; `command('SET', 'k', 'v')` resolves with the reply (an error reply rejects). */
function connect({ host, port = 6379 }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const pending = [];
    let buffer = Buffer.alloc(0);
    const failAll = (error) => {
      for (const p of pending.splice(0)) p.reject(error);
    };
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let reply = parse(buffer, 0); reply; reply = parse(buffer, 0)) {
        buffer = buffer.subarray(reply.next);
        const p = pending.shift();
        if (reply.value instanceof Error) p.reject(reply.value);
        else p.resolve(reply.value);
      }
    });
    socket.on('error', (error) => {
      failAll(error);
      reject(error);
    });
    socket.on('close', () => failAll(new Error('redis closed the connection')));
    socket.on('connect', () =>
      resolve({
        command: (...args) =>
          new Promise((ok, fail) => {
            pending.push({ resolve: ok, reject: fail });
            socket.write(
              `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join(''),
            );
          }),
        closed: new Promise((done) => socket.on('close', done)),
      }),
    );
  });
}

module.exports = { connect };
