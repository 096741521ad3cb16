/**
 * Call-record events' benchmark (docs/events.md): what publishing costs a call, and how soon a
 * receiver has the record.
 *
 * The local stack runs in this process with two accounts alike but for `webhooks`: one sends
 * every completed record to a receiver on loopback, the other sends none. N coded calls
 * (incoming → code → dial-complete → status, signed as Twilio signs them) alternate between
 * the two, so machine noise hits both alike. Per route, the webhook's p99 with events on and
 * off; DynamoDB requests per call both ways (counted on the stack's client); and the delivery
 * latency from the status callback's answer to the receiver's receipt, p50 and p99.
 *
 *   npm run bench -- events
 *   node bench/events.bench.ts --calls 300
 *
 * Budgets: events on changes neither the webhooks' p99 (within noise: ≤ 1.25× off, or ≤ 2 ms
 * more; with fewer than 100 calls a side, as with --quick, the p50) nor the requests per call.
 * Reported, not enforced.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countRequests, makeDynamoClient } from '../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../functions/adapters/dynamodb/stores.ts';
import { parseSettings } from '../functions/core/settings.ts';
import { silentLogger } from '../functions/services/logger.ts';
import { startLocalStack } from '../local/stack.ts';
import { machine, machineLine, quantile, round2, writeResult, type Headline } from './support/report.ts';
import { codedCall, keepAliveAgent, newCallSid, ROUTES, type Route } from './support/voice-caller.ts';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '300' }, quick: { type: 'boolean' } } });
const calls = Math.max(10, Math.round(Number(flags.calls) / (flags.quick ? 10 : 1)));
const TOKEN = 'bench-events-token';

// The receiver: when each event arrived, by call.
const arrived = new Map<string, number>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const sid = /"call_sid":"(CA[0-9a-f]{32})"/.exec(body)?.[1];
    if (sid !== undefined) arrived.set(sid, performance.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;

const home = await mkdtemp(join(tmpdir(), 'tollgate-bench-events-'));
const stack = await startLocalStack({ home, port: 0, authToken: TOKEN, log: silentLogger, seed: false, exportSchedule: false });
const client = makeDynamoClient({ endpoint: stack.dynamodbEndpoint });
try {
  const stores = makeDynamoStores({ client, tables: stack.tables });
  const sids = { on: `AC${'e'.repeat(32)}`, off: `AC${'f'.repeat(32)}` };
  for (const [name, sid] of Object.entries(sids)) {
    const settings = parseSettings({
      account: `bench-${name}`,
      twilioAccountSids: [sid],
      homeCountry: 'US',
      timeZone: 'America/New_York',
      calls: { default: 'required' },
      webhooks: name === 'on' ? [webhook] : [],
    });
    if (!settings.ok) throw new Error(JSON.stringify(settings.problems));
    await stores.accounts.putSettings(settings.value);
    await stores.codes.writeCodes(`bench-${name}`, [{ put: { key: 'A#0042', kind: 'account', code: '0042', enabled: true } }]);
  }
  const agent = keepAliveAgent();
  const options = (name: 'on' | 'off') => ({
    httpUrl: stack.httpUrl,
    publicUrl: stack.publicUrl,
    accountSid: sids[name],
    token: TOKEN,
    from: 'client:alice',
    to: '+12125550100',
    code: '0042',
    agent,
  });
  const counter = countRequests(stack.dynamodb);
  const latency = { on: new Map<Route, number[]>(), off: new Map<Route, number[]>() };
  const requests = { on: [] as number[], off: [] as number[] };
  const sent = new Map<string, number>();
  // Warm-up: both accounts' settings cached, the code paths compiled.
  for (let i = 0; i < 10; i++) await codedCall(options(i % 2 === 0 ? 'on' : 'off'));
  for (let i = 0; i < calls * 2; i++) {
    const name = i % 2 === 0 ? 'on' : 'off';
    const sid = newCallSid();
    const before = counter.total;
    const result = await codedCall(options(name), sid, async (route) => {
      if (route === 'status') sent.set(sid, performance.now());
    });
    if (result.error !== undefined) throw new Error(`call ${sid} (${name}): ${result.error}`);
    requests[name].push(counter.total - before);
    for (const p of result.posts) latency[name].set(p.route, [...(latency[name].get(p.route) ?? []), p.ms]);
  }
  await stack.events.idle();
  const delivered = [...sent].filter(([sid]) => arrived.has(sid)).map(([sid, at]) => (arrived.get(sid) as number) - at);
  counter.detach();
  agent.destroy();

  // A p99 needs a hundred calls a side to be more than the slowest call; with fewer (--quick)
  // the medians are compared, and the p99s only shown.
  const perSide = Math.min(...(['on', 'off'] as const).map((n) => latency[n].get('incoming')?.length ?? 0));
  const compared = perSide >= 100 ? 0.99 : 0.5;
  const at = (name: 'on' | 'off', route: Route, q: number) => round2(quantile(latency[name].get(route) ?? [], q));
  const perCall = (name: 'on' | 'off') => round2(requests[name].reduce((a, b) => a + b, 0) / requests[name].length);
  const headline: Headline[] = [
    ...ROUTES.map((route): Headline => {
      const on = at('on', route, compared);
      const off = at('off', route, compared);
      const ok = on <= off * 1.25 || on - off <= 2;
      return {
        benchmark: 'events',
        metric: `/voice/${route} ${compared === 0.99 ? 'p99' : 'p50'}, events on ↔ off (${perSide} calls a side)`,
        value: `${on} ms ↔ ${off} ms${compared === 0.99 ? '' : ` (p99 ${at('on', route, 0.99)} ↔ ${at('off', route, 0.99)} ms: too few calls to compare)`}`,
        budget: 'on ≤ 1.25× off (or ≤ 2 ms more)',
        status: ok ? 'pass' : 'FAIL',
      };
    }),
    {
      benchmark: 'events',
      metric: 'DynamoDB requests per coded call, events on ↔ off',
      value: `${perCall('on')} ↔ ${perCall('off')}`,
      budget: 'the same',
      status: perCall('on') <= perCall('off') ? 'pass' : 'FAIL',
    },
    {
      benchmark: 'events',
      metric: `delivery, status callback answered → webhook received (${delivered.length} of ${calls} events)`,
      value: `p50 ${round2(quantile(delivered, 0.5))} ms, p99 ${round2(quantile(delivered, 0.99))} ms`,
    },
  ];
  console.log(`\n${machineLine()}`);
  for (const h of headline) console.log(`${h.metric.padEnd(66)} ${h.value}${h.budget ? `  (budget ${h.budget}: ${h.status})` : ''}`);
  await writeResult('events', {
    at: new Date().toISOString(),
    machine: machine(),
    calls,
    requestsPerCall: { on: perCall('on'), off: perCall('off') },
    delivered: delivered.length,
    headline,
  });
} finally {
  client.destroy();
  await stack.stop();
  await new Promise((resolve) => receiver.close(resolve));
  await rm(home, { recursive: true, force: true });
}
