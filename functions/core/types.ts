/**
 * The vocabulary of docs/design.md, docs/security.md, docs/call-flow.md, docs/data-model.md as types. Everything here is data: the core
 * decides, the adapters render and store.
 */

/** What kind of number was dialled (docs/security.md). */
export const CALL_CLASSES = ['emergency', 'internal', 'directory', 'premium', 'tollfree', 'mobile', 'national', 'international', 'external', 'unknown'] as const;
export type CallClass = (typeof CALL_CLASSES)[number];

/** What a class means for a user (docs/settings.md). */
export const TREATMENTS = ['free', 'optional', 'required', 'authorized', 'blocked'] as const;
export type Treatment = (typeof TREATMENTS)[number];

/** The languages callers hear prompts in (docs/settings.md, "prompts"); each ships its own texts and voice. */
export const PROMPT_LANGUAGES = ['en-US', 'es-US', 'fr-CA'] as const;
export type PromptLanguage = (typeof PROMPT_LANGUAGES)[number];

export const CODE_KINDS = ['account', 'authorization'] as const;
export type CodeKind = (typeof CODE_KINDS)[number];

/** How the usage record came by its code (docs/data-model.md). */
export const CODE_STATUSES = ['valid', 'unvalidated', 'skipped', 'invalid', 'caller-id', 'tagged', 'exempt', 'none', 'locked-out'] as const;
export type CodeStatus = (typeof CODE_STATUSES)[number];

/** How the call ended (docs/data-model.md). */
export const OUTCOMES = ['completed', 'busy', 'no-answer', 'failed', 'canceled', 'blocked', 'not-permitted', 'abandoned'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type Direction = 'outbound' | 'inbound';

/** Where `<Dial>` sends the call: the noun inside it. */
export type DialTarget =
  | { readonly kind: 'number'; readonly number: string }
  | { readonly kind: 'client'; readonly identity: string }
  | { readonly kind: 'sip'; readonly uri: string };

/**
 * What the caller hears and where the call goes next. Rendered to TwiML by the Twilio
 * adapter; the core never builds XML. Paths are relative to the public base URL.
 */
export type Action =
  | { readonly type: 'say'; readonly text: string }
  | {
      readonly type: 'gather';
      /** Spoken inside the `<Gather>` so digits typed during the prompt count. */
      readonly prompt: string;
      /** The step this gather answers; becomes `/voice/code?step=N`. */
      readonly step: number;
      readonly timeoutSeconds: number;
      /** Set only when the code length is fixed (`codeLength.min === max`). */
      readonly numDigits?: number;
    }
  | {
      readonly type: 'dial';
      readonly target: DialTarget;
      /** Caller ID presented to the dialled party; omitted lets Twilio use the caller's own. */
      readonly callerId?: string;
    }
  | { readonly type: 'hangup' };

/** The voice and language prompts are spoken in (`<Say voice language>`). */
export interface SpeechOptions {
  readonly language: string;
  readonly voice: string;
}
