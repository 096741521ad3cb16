/**
 * The voice handler mounted as the local stack mounts it — the same RouteTable, request
 * listener and handler factory — over stores a suite controls (a dynalite it can stop, a
 * client it injects faults into), on a loopback port of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../functions/services/logger.ts';
import type { AlertSink, VoiceDeps } from '../../../functions/services/voice.ts';
import { makeRequestListener, RouteTable } from '../../../local/http.ts';
import { E2E_TOKEN } from './e2e-stack.ts';
import { FakeTwilio } from './twilio.ts';
import { testVoiceApp } from '../../support/voice-app.ts';

export type VoiceStores = Pick<VoiceDeps, 'accounts' | 'calls' | 'lockouts' | 'callContext' | 'codes'>;

export interface VoiceServer {
  readonly server: Server;
  readonly twilio: FakeTwilio;
  close(): Promise<void>;
}

export async function startVoiceServer(
  stores: VoiceStores,
  options: { readonly accountSid: string; readonly alerts: AlertSink; readonly pepper: string; readonly emergencySideWorkMs?: number },
): Promise<VoiceServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const publicUrl = `http://localhost:${port}`;
  const routes = new RouteTable().add(
    ['POST'],
    '/voice/*',
    testVoiceApp(stores, {
      token: E2E_TOKEN,
      pepper: async () => options.pepper,
      alerts: options.alerts,
      publicBaseUrl: publicUrl,
      ...(options.emergencySideWorkMs === undefined ? {} : { emergencySideWorkMs: options.emergencySideWorkMs }),
    }),
    { functionName: 'tollgate-voice' },
  );
  server.on('request', makeRequestListener(routes, silentLogger));
  return {
    server,
    twilio: new FakeTwilio({ httpUrl: `http://127.0.0.1:${port}`, publicUrl, accountSid: options.accountSid, authToken: E2E_TOKEN }),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
