// A branchboxd that hangs: the process stays alive and accepts connections, but never
// answers a request. With FAKE_HANG_AFTER_INITIALIZE=1 it answers `initialize` first (so the
// client connects) and then goes silent (so only a heartbeat can tell).
import { startFakeDaemon } from './common.mjs';

const answerInitialize = process.env.FAKE_HANG_AFTER_INITIALIZE === '1';

startFakeDaemon((ws) => {
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    if (answerInitialize && message.method === 'initialize') {
      ws.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: message.id,
          result: {
            serverInfo: { name: 'branchboxd', version: '0.0.0-fake' },
            protocolVersion: '1.0.0',
            capabilities: { methods: [], notifications: [], docker: false },
          },
        }),
      );
    }
    // Everything else: silence.
  });
});
