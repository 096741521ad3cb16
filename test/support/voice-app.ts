/**
 * The one place the tests wire the voice app: stores plus the test defaults (a fixed auth
 * token, a pepper, the deployment's emergency caller ID, a silent log, alerts dropped), each
 * overridable. The local stack and the deployed handlers wire their own, as production does.
 */
import { fixedTokens } from '../../functions/adapters/twilio/tokens.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { makeVoiceApp, type VoiceDeps } from '../../functions/services/voice.ts';
import { EMERGENCY_CALLER_ID } from '../fixtures/twilio/forms.ts';

export type VoiceStores = Pick<VoiceDeps, 'accounts' | 'calls' | 'lockouts' | 'callContext' | 'codes'>;

export interface TestVoiceOptions extends Partial<Omit<VoiceDeps, keyof VoiceStores | 'authTokens'>> {
  /** The auth token every Account SID signs with. */
  readonly token: string;
}

export function testVoiceDeps(stores: VoiceStores, options: TestVoiceOptions): VoiceDeps {
  const { token, ...rest } = options;
  return {
    ...stores,
    authTokens: fixedTokens(token),
    pepper: async () => 'test-pepper',
    alerts: { raise: async () => undefined },
    emergencyCallerId: EMERGENCY_CALLER_ID,
    now: () => new Date(),
    log: silentLogger,
    ...rest,
  };
}

/** The voice app over `stores` with the test defaults. */
export function testVoiceApp(stores: VoiceStores, options: TestVoiceOptions): ReturnType<typeof makeVoiceApp> {
  return makeVoiceApp(testVoiceDeps(stores, options));
}
