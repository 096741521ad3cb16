/**
 * The voice function's HTTP surface, written once: the CDK stack routes these paths to it, the
 * local stack mounts it on them, and the function answers exactly these (docs/call-flow.md).
 */

/** Every path Twilio posts to. */
export const VOICE_PATHS = ['/voice/incoming', '/voice/code', '/voice/dial-complete', '/voice/status', '/voice/fallback'] as const;
export type VoicePath = (typeof VOICE_PATHS)[number];

/** Answered without storage: the function runs, and the URL it checks signatures against. */
export const HEALTH_PATH = '/health';

/** Twilio's webhooks are small; a larger body is refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;
