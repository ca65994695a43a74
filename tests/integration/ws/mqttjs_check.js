// MQTT.js against starling over ws:// and wss://: subscribe, receive what a TCP client publishes, publish a
// 1 MiB message and get it back, for MQTT 3.1.1 and 5.0. Usage: node mqttjs_check.js WS_PORT WSS_PORT CA_FILE TCP_PORT
// Exits 0 when every check passes; prints what failed otherwise. Every wait has a deadline.
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const mqtt = require('mqtt');

const [wsPort, wssPort, caFile, tcpPort] = process.argv.slice(2);
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error('timeout: ' + what)), ms));

function connect(url, opts) {
  return Promise.race([
    new Promise((resolve, reject) => {
      const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      c.once('connect', (ack) => resolve({ c, ack }));
      c.once('error', reject);
    }),
    deadline(8000, 'connect ' + url),
  ]);
}

function nextMessage(c, topic) {
  return Promise.race([
    new Promise((resolve) => {
      c.on('message', (t, payload, packet) => { if (t === topic) resolve({ payload, packet }); });
    }),
    deadline(8000, 'message on ' + topic),
  ]);
}

async function check(url, version, extra) {
  const label = `${url} v${version}`;
  const { c } = await connect(url, { protocolVersion: version, clientId: `js-${version}-${url.slice(0, 3)}`, ...extra });
  await c.subscribeAsync('js/#', { qos: 1 });
  // From a TCP client we did not write either.
  const fromTcp = nextMessage(c, 'js/tcp');
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', tcpPort, '-t', 'js/tcp', '-m', 'hello from tcp', '-q', '1']);
  const m1 = await fromTcp;
  if (m1.payload.toString() !== 'hello from tcp') throw new Error(`${label}: got ${m1.payload}`);
  // A large message over the WebSocket both ways.
  const big = Buffer.alloc(1 << 20, 7);
  const back = nextMessage(c, 'js/big');
  const t0 = Date.now();
  await c.publishAsync('js/big', big, { qos: 1 });
  const m2 = await back;
  if (!m2.payload.equals(big)) throw new Error(`${label}: 1 MiB payload differs`);
  console.log(`${label}: ok (1 MiB round trip ${Date.now() - t0} ms)`);
  await c.endAsync();
}

(async () => {
  const ca = fs.readFileSync(caFile);
  for (const version of [4, 5]) {
    await check(`ws://127.0.0.1:${wsPort}/mqtt`, version, {});
    await check(`wss://localhost:${wssPort}/mqtt`, version, { ca, rejectUnauthorized: true });
  }
  process.exit(0);
})().catch((e) => { console.error('FAIL', e.message); process.exit(1); });
