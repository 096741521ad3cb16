/** The voice function's configuration: what it refuses to start without. */
import { describe, expect, it } from 'vitest';
import { ConfigError, emergencyCallerIdOf, voiceConfig } from '../../functions/config.ts';

const BASE = { TOLLGATE_TWILIO_SECRET_ARN: 'arn:tokens', TOLLGATE_ALERTS_TOPIC_ARN: 'arn:topic' };

describe('voice configuration', () => {
  it('needs the deployment emergency caller ID, as an E.164 number', () => {
    expect(voiceConfig({ ...BASE, TOLLGATE_EMERGENCY_CALLER_ID: ' +14155550100 ' }).emergencyCallerId).toBe('+14155550100');
    expect(() => voiceConfig(BASE)).toThrow(/TOLLGATE_EMERGENCY_CALLER_ID is not set/);
    expect(() => voiceConfig({ ...BASE, TOLLGATE_EMERGENCY_CALLER_ID: '911' })).toThrow(ConfigError);
    expect(() => emergencyCallerIdOf({ TOLLGATE_EMERGENCY_CALLER_ID: 'client:alice' })).toThrow(/use an E.164 number/);
    expect(emergencyCallerIdOf({})).toBeUndefined();
  });
});
