#!/usr/bin/env node
// A webhook receiver for trying plugin-webhook-ping: `node receiver.mjs [PORT] [SECRET]` listens on
// 127.0.0.1:PORT (default 8099), prints every POST it gets and answers 204; with SECRET it answers
// 403 to posts whose X-Webhook-Secret header differs.
import http from 'node:http';

const port = Number(process.argv[2] ?? 8099);
const secret = process.argv[3] ?? null;
const server = http.createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk) => { if (body.length < 65536) body += chunk; });
  request.on('end', () => {
    if (request.method !== 'POST') { response.writeHead(405, { allow: 'POST' }).end(); return; }
    const allowed = !secret || request.headers['x-webhook-secret'] === secret;
    console.log(`${new Date().toISOString()} POST ${request.url} ${allowed ? '204' : '403 (wrong secret)'} ${body}`);
    response.writeHead(allowed ? 204 : 403).end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`webhook receiver on http://127.0.0.1:${port}/ (Ctrl-C stops it)`));
