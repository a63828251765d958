#!/usr/bin/env node
// One HTTP(S) request, for check.mjs to run inside a container's network namespace
// (`nsenter --target PID --net node request.mjs …`), where the container's 127.0.0.1 is.
// Usage: request.mjs METHOD URL [CA_FILE] [BODY_FILE]; prints {"status":…,"body":"…"} on stdout.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const [method = 'GET', url = '', caFile, bodyFile] = process.argv.slice(2);
const payload = bodyFile ? readFileSync(bodyFile) : undefined;
const target = new URL(url);
const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
const req = send(
  target,
  {
    method,
    timeout: 5000,
    ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
    headers: payload
      ? { 'content-type': 'application/json', 'content-length': payload.length }
      : {},
  },
  (res) => {
    const chunks = [];
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      process.stdout.write(JSON.stringify({ status: res.statusCode, body }));
    });
  },
);
req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)));
req.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
req.end(payload);
