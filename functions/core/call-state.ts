/**
 * A call as it is kept between webhooks, and as the usage log reads it once it ends
 * (docs/data-model.md, "Usage log"): data only, shared by the call flow, tagging and the usage export.
 */
import type { Action, CodeKind, CodeStatus, DialTarget, Direction, Outcome, PromptLanguage, Treatment, CallClass } from './types.ts';

/** Where a call is in its life; `tagging`: the dialled party hung up first and the caller is at the after-call prompt. */
export type Phase = 'prompting' | 'dialling' | 'tagging' | 'ended';

/** The state of one call, kept by CallSid between webhooks. */
export interface CallState {
  readonly callSid: string;
  readonly account: string;
  readonly direction: Direction;
  /** The caller's identity as stored for users (`client:…`, `sip:user@domain`, E.164). */
  readonly user: string;
  /** `From` as Twilio sent it (the usage log's `caller`). */
  readonly caller: string;
  readonly group?: string;
  /** The caller is in the account's users list (the account-wide throttle spares listed users). */
  readonly listedUser?: boolean;
  /** `To` as Twilio sent it. */
  readonly destination: string;
  readonly destinationClass: CallClass;
  readonly entryPoint?: string;
  readonly treatment: Treatment;
  readonly maxAttempts: number;
  readonly validate: boolean;
  readonly proceedAfterMaxAttempts: boolean;
  readonly minLevel: number;
  /** Where `<Dial>` goes once the flow allows it. Absent when the call can never be dialled. */
  readonly dial?: { readonly target: DialTarget; readonly callerId?: string };
  readonly phase: Phase;
  /** Gather responses processed so far; the outstanding `<Gather>` posts `step = step + 1`. */
  readonly step: number;
  /** Code entries (or silences) that counted against `maxAttempts`. */
  readonly attempts: number;
  readonly codeStatus: CodeStatus;
  /** The language the caller hears (their user's); unset: the account's. */
  readonly language?: PromptLanguage;
  /** The caller is offered the after-call prompt (user → group → account `afterCallPrompt`). */
  readonly afterCallPrompt?: boolean;
  /** Account codes only: the digits. Authorization codes are never kept. */
  readonly code?: string;
  /** Authorization codes only: the hash reference. */
  readonly codeRef?: string;
  readonly codeDescription?: string;
  readonly codeKind?: CodeKind;
  readonly outcome?: Outcome;
  /** ISO instants. */
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationS?: number;
  readonly talkS?: number;
  readonly dialCompleted: boolean;
  readonly statusReceived: boolean;
  /** What the last webhook answered, so a retried webhook gets the same TwiML. */
  readonly lastActions: readonly Action[];
}

/** A usage record: the call's state, and who tagged it after the call (`tollgate calls tag`, the console, or the caller at the after-call prompt). */
export interface UsageRecord extends CallState {
  /** Who tagged the call after it ended (an OS user name or `--by`). */
  readonly taggedBy?: string;
  /** When, as an ISO instant. */
  readonly taggedAt?: string;
}
