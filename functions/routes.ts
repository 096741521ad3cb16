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

/**
 * The web console's surface (docs/console.md): the browser app, its JSON API, and `/`, which
 * sends a browser to the app. Every method the API answers; the app answers 404 or 405 itself.
 */
export const CONSOLE_ROUTES = [
  { methods: ['GET'], path: '/' },
  { methods: ['GET'], path: '/console' },
  { methods: ['GET'], path: '/console/*' },
  { methods: ['GET', 'POST', 'PUT', 'DELETE'], path: '/api/*' },
] as const;

/** Console uploads (a codes or users CSV picked in the browser) are refused above this: larger files go to the bucket. */
export const CONSOLE_MAX_BODY_BYTES = 5 * 1024 * 1024;
