/**
 * The clock, caller and codes the core's unit tests share (call flow, code checks, lockout).
 */
import type { StoredCode } from '../../functions/core/codes.ts';

export const NOW = new Date('2026-06-15T14:00:00Z');
export const DOMAIN = 'acme.sip.twilio.com';
export const ALICE = `sip:alice@${DOMAIN}`;

export const ACCOUNT_CODE: StoredCode = { kind: 'account', code: '0042', description: 'Smith v Jones', enabled: true };
export const AUTH_CODE: StoredCode = { kind: 'authorization', ref: '9f86d081', description: 'Alice international', enabled: true, level: 2 };

/** `NOW` moved by `seconds` (negative for earlier). */
export const later = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);
