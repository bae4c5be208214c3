// A tiny PostgreSQL client: one connection, the simple-query protocol, trust or password
// authentication (cleartext, md5, SCRAM-SHA-256). Enough for the sample API; no npm package.
const net = require('node:net');
const crypto = require('node:crypto');

/** Messages of one connection, read as they arrive: `next()` resolves with { type, body }. */
class MessageReader {
  constructor(socket) {
    this.buffer = Buffer.alloc(0);
    this.waiting = [];
    this.failure = null;
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    const fail = (error) => {
      this.failure = error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('postgres closed the connection')));
  }
  next() {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiting.push({ resolve, reject });
      this.deliver();
    });
  }
  deliver() {
    while (this.waiting.length && this.buffer.length >= 5) {
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const message = { type: String.fromCharCode(this.buffer[0]), body: this.buffer.subarray(5, 1 + length) };
      this.buffer = this.buffer.subarray(1 + length);
      this.waiting.shift().resolve(message);
    }
  }
}

const frame = (type, body) => {
  const head = Buffer.alloc(type ? 5 : 4);
  if (type) head.write(type);
  head.writeInt32BE(body.length + 4, type ? 1 : 0);
  return Buffer.concat([head, body]);
};
const cstring = (s) => Buffer.from(s + '\0');

function errorText(body) {
  const fields = {};
  for (const part of body.toString().split('\0')) if (part) fields[part[0]] = part.slice(1);
  return `${fields.S || 'ERROR'}: ${fields.M || 'unknown error'}`;
}

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest();
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();

/** SCRAM-SHA-256 (RFC 7677) as PostgreSQL runs it: the user name is taken from the startup. */
async function scram(socket, reader, password) {
  const nonce = crypto.randomBytes(18).toString('base64');
  const clientFirst = `n=*,r=${nonce}`;
  const initial = Buffer.from('n,,' + clientFirst);
  const length = Buffer.alloc(4);
  length.writeInt32BE(initial.length);
  socket.write(frame('p', Buffer.concat([cstring('SCRAM-SHA-256'), length, initial])));
  const first = await expectAuth(reader, 11);
  const serverFirst = first.toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  if (!attrs.r.startsWith(nonce)) throw new Error('postgres answered SCRAM with a foreign nonce');
  const salted = crypto.pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  const finalBare = `c=biws,r=${attrs.r}`;
  const authMessage = `${clientFirst},${serverFirst},${finalBare}`;
  const signature = hmac(sha256(clientKey), authMessage);
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]));
  socket.write(frame('p', Buffer.from(`${finalBare},p=${proof.toString('base64')}`)));
  const final = (await expectAuth(reader, 12)).toString();
  const expected = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  if (final !== `v=${expected}`) throw new Error('postgres failed to prove it knows the password');
}

async function expectAuth(reader, code) {
  const message = await reader.next();
  if (message.type === 'E') throw new Error(errorText(message.body));
  if (message.type !== 'R' || message.body.readInt32BE(0) !== code)
    throw new Error(`unexpected ${message.type} during authentication`);
  return message.body.subarray(4);
}

/** Opens an authenticated connection; `query(sql)` answers the rows of its last statement. */
async function connect({ host, port = 5432, user, password = '', database = user }) {
  const socket = net.connect(port, host);
  const reader = new MessageReader(socket);
  socket.write(
    frame(
      '',
      Buffer.concat([
        Buffer.from([0, 3, 0, 0]),
        cstring('user'),
        cstring(user),
        cstring('database'),
        cstring(database),
        cstring(''),
      ]),
    ),
  );
  for (;;) {
    const { type, body } = await reader.next();
    if (type === 'E') throw new Error(errorText(body));
    if (type === 'Z') break;
    if (type !== 'R') continue; // parameter status, backend key
    const code = body.readInt32BE(0);
    if (code === 3) socket.write(frame('p', cstring(password)));
    else if (code === 5) {
      const inner = crypto
        .createHash('md5')
        .update(password + user)
        .digest('hex');
      socket.write(
        frame('p', cstring('md5' + crypto.createHash('md5').update(inner).update(body.subarray(4, 8)).digest('hex'))),
      );
    } else if (code === 10) await scram(socket, reader, password);
    else if (code !== 0) throw new Error(`unsupported authentication method ${code}`);
  }

  let queue = Promise.resolve();
  const run = async (sql) => {
    socket.write(frame('Q', cstring(sql)));
    let columns = [];
    let rows = [];
    let failure = null;
    for (;;) {
      const { type, body } = await reader.next();
      if (type === 'T') {
        columns = [];
        rows = [];
        let at = 2;
        for (let i = body.readInt16BE(0); i > 0; i--) {
          const end = body.indexOf(0, at);
          columns.push(body.toString('utf8', at, end));
          at = end + 1 + 18;
        }
      } else if (type === 'D') {
        const row = {};
        let at = 2;
        for (let i = 0; i < body.readInt16BE(0); i++) {
          const size = body.readInt32BE(at);
          at += 4;
          row[columns[i]] = size < 0 ? null : body.toString('utf8', at, at + size);
          if (size > 0) at += size;
        }
        rows.push(row);
      } else if (type === 'E') failure = new Error(errorText(body));
      else if (type === 'Z') break;
    }
    if (failure) throw failure;
    return rows;
  };
  return {
    query: (sql) =>
      (queue = queue.then(
        () => run(sql),
        () => run(sql),
      )),
    close: () => socket.end(frame('X', Buffer.alloc(0))),
    closed: new Promise((resolve) => socket.on('close', resolve)),
  };
}

module.exports = { connect };
