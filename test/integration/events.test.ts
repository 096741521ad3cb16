/**
 * Call-record events on the local stack (docs/events.md): a receiver on loopback gets each
 * completed record as a signed POST — checked here with the recipe the integrators' page gives,
 * written out with node:crypto, not with the product's own code — retried after a failure with
 * the same event id; events.log and `tollgate events tail` show it; a retag is published too;
 * no authorization digits travel.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../functions/services/logger.ts';
import { cliRunner, type CliRunner } from './support/cli-io.ts';
import { E2E_TOKEN, startE2eStack, until, type E2eStack } from './support/e2e-stack.ts';

interface Received {
  readonly body: string;
  readonly signature: string;
  readonly id: string;
}

let e2e: E2eStack;
let tollgate: CliRunner;
let server: Server;
const received: Received[] = [];
/** How many of the next requests the receiver fails with a 503. */
let failNext = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      received.push({ body, signature: String(req.headers['tollgate-signature'] ?? ''), id: String(req.headers['tollgate-event-id'] ?? '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tollgate`;
  e2e = await startE2eStack({ log: silentLogger, eventRetryMs: 50 });
  await e2e.addAccount('acme', {
    settings: { calls: { default: 'free', international: 'required', premium: 'authorized' }, webhooks: [url] },
    codes: [e2e.accountCode('0042', { description: 'Smith v Jones' }), e2e.accountCode('1001', { description: 'Acme audit' })],
  });
  await e2e.stores.codes.writeCodes('acme', [{ put: e2e.authorizationCode('acme', '97531', 2, { description: 'Partners' }) }]);
  tollgate = cliRunner({ env: { TOLLGATE_HOME: e2e.home, TWILIO_AUTH_TOKEN: E2E_TOKEN }, cwd: e2e.home });
});

afterAll(async () => {
  await e2e?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** The recipe of docs/events.md: HMAC-SHA256 of "<t>.<body>" with the secret, hex, compared in constant time; t within 5 minutes. */
function verified(body: string, header: string, secret: string): boolean {
  const fields = new Map(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(fields.get('t'));
  if (!(Math.abs(Date.now() / 1000 - t) <= 300)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('call-record events', () => {
  it('POSTs a completed record to the webhook, signed with the account secret, and logs it', async () => {
    const r = await tollgate(['call', '--from', 'client:alice', '--to', '+442079460018', '--digits', '0042#', '--talk', '42', '--account', 'acme']);
    expect(r.code, r.stderr).toBe(0);
    const sid = /stored under (CA[0-9a-f]{32})/.exec(r.stdout)?.[1] as string;
    const got = await until('the webhook delivery', 20_000, () => received.find((x) => x.body.includes(sid)));
    const secret = (await tollgate(['events', 'secret', '--account', 'acme'])).stdout.trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(verified(got.body, got.signature, secret)).toBe(true);
    expect(verified(got.body.replace('0042', '0043'), got.signature, secret)).toBe(false);
    const event = JSON.parse(got.body);
    expect(event).toMatchObject({ id: `${sid}.completed`, source: 'tollgate', 'detail-type': 'Call completed', account: 'acme' });
    expect(got.id).toBe(event.id);
    expect(event.detail).toMatchObject({
      call_sid: sid,
      user: 'client:alice',
      code: '0042',
      code_status: 'valid',
      talk_s: 42,
      outcome: 'completed',
      destination_class: 'international',
    });
    const log = await readFile(join(e2e.home, 'events.log'), 'utf8');
    expect(log).toContain(`"id":"${sid}.completed"`);
    const tail = await tollgate(['events', 'tail', '--no-follow', '--account', 'acme']);
    expect(tail.stdout).toMatch(new RegExp(`Call completed\\s+acme\\s+${sid}\\s+client:alice → \\+442079460018\\s+code 0042 \\(valid\\)\\s+completed\\s+talk 42 s`));
  });

  it('retries a delivery the receiver failed, with the same event id', async () => {
    failNext = 2;
    const r = await tollgate(['call', '--from', 'client:bob', '--to', '+442079460019', '--digits', '1001#', '--talk', '5', '--account', 'acme']);
    const sid = /stored under (CA[0-9a-f]{32})/.exec(r.stdout)?.[1] as string;
    const got = await until('the retried delivery', 30_000, () => received.find((x) => x.body.includes(sid)));
    expect(failNext).toBe(0);
    expect(JSON.parse(got.body).id).toBe(`${sid}.completed`);
    expect(received.filter((x) => x.body.includes(sid))).toHaveLength(1);
  });

  it('publishes a retag, and never carries authorization digits', async () => {
    const authorized = await tollgate(['call', '--from', 'client:dana', '--to', '+19005550100', '--digits', '97531#', '--talk', '3', '--account', 'acme']);
    const authSid = /stored under (CA[0-9a-f]{32})/.exec(authorized.stdout)?.[1] as string;
    const authEvent = await until('the authorized call', 20_000, () => received.find((x) => x.body.includes(authSid)));
    expect(authEvent.body).not.toContain('97531');
    expect(JSON.parse(authEvent.body).detail).toMatchObject({ code: null, code_kind: 'authorization', code_description: 'Partners' });

    const free = await tollgate(['call', '--from', 'client:erin', '--to', '+12125550100', '--talk', '7', '--account', 'acme']);
    const sid = /stored under (CA[0-9a-f]{32})/.exec(free.stdout)?.[1] as string;
    await until('the untagged call', 20_000, () => received.find((x) => x.body.includes(sid)));
    const tag = await tollgate(['calls', 'tag', sid, '1001', '--account', 'acme', '--by', 'ann']);
    expect(tag.code, tag.stderr).toBe(0);
    const retag = await until('the retag event', 20_000, () => received.find((x) => x.body.includes(sid) && x.body.includes('Call retagged')));
    expect(JSON.parse(retag.body)).toMatchObject({ 'detail-type': 'Call retagged', detail: { call_sid: sid, code: '1001', code_status: 'tagged', tagged_by: 'ann' } });
    expect(JSON.parse(retag.body).id).toMatch(new RegExp(`^${sid}\\.retagged\\.`));
  });
});
