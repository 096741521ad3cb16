/**
 * `tollgate call`: a simulated caller. It posts the webhooks Twilio would post, signed the way
 * Twilio signs them, prints what the caller would hear, answers each prompt from `--digits`
 * or the keyboard, follows Gather, Redirect, Dial and Hangup to the end, lets the dialled
 * party "talk" for `--talk` seconds (simulated, not waited), then posts the dial result and the
 * status callback, as Twilio does.
 */
import { randomBytes } from 'node:crypto';
import { signTwilioRequest } from '../../functions/adapters/twilio/signature.ts';
import { CliError, readLine, usageError, type CliIo } from '../io.ts';
import { accountSettings, openTarget, resolveAccount, TARGET_HELP, TARGET_OPTIONS } from '../target.ts';
import { readTwiml, type Verb } from '../twiml-reader.ts';
import { expectPositionals, parseCommand, requireIdentity, str, targetFlags, type Command } from './common.ts';

/** The local stack's token when TWILIO_AUTH_TOKEN is not set (docs/call-flow.md). */
export const LOCAL_AUTH_TOKEN = 'tollgate-local-token';
/** Twilio follows at most this many TwiML documents for one call; so do we. */
const MAX_DOCUMENTS = 50;

const help = `Usage: tollgate call --from ID --to NUMBER [options]

Place a simulated call through the voice webhooks and hear what a caller would hear.

Options:
  --from ID          the caller: client:alice, sip:bob@demo.sip.twilio.com or +14155550123
  --to NUMBER        what the caller dials: +442079460018, (212) 555-0100, 911, client:carol …
  --digits LIST      answers to the prompts, comma-separated: "0042#,#" answers the first
                     prompt with 0042 then #, the second with a lone # (skip); an empty item
                     is silence. Without --digits, you type them.
  --talk SECONDS     how long the dialled party talks once they answer (default 30; 0: no answer)
  --param NAME=VALUE a custom parameter the Voice SDK app sends with the call, as
                     device.connect({ params }) does: --param accountCode=0042 is the
                     account code chosen in the app (no prompt when it is valid); repeatable
  --url URL          post to this base URL instead of the local stack's
  --account-sid SID  the Twilio Account SID to post as (default: the account's first)
${TARGET_HELP}

The auth token used for signing is TWILIO_AUTH_TOKEN (default ${LOCAL_AUTH_TOKEN}; required with --stack).`;

interface Answers {
  next(prompt: string): Promise<{ digits: string; finishedOnKey: string } | undefined>;
}

/** `--digits "0042#,#,"` → one answer per prompt; then no more (the caller hangs up). */
function scriptedAnswers(io: CliIo, list: string): Answers {
  const items = list.split(',');
  return {
    async next() {
      const item = items.shift();
      if (item === undefined) return undefined;
      io.stdout.write(`  ☎ caller presses: ${item === '' ? '(nothing)' : item}\n`);
      return splitDigits(item);
    },
  };
}

function typedAnswers(io: CliIo): Answers {
  return {
    async next() {
      const line = await readLine(io, '  ☎ your keys (digits, # to finish, empty for silence): ');
      return splitDigits(line.trim());
    },
  };
}

/** What Twilio reports for keys pressed: the digits before `#`, and whether `#` ended them. */
function splitDigits(keys: string): { digits: string; finishedOnKey: string } {
  const hash = keys.indexOf('#');
  return hash === -1 ? { digits: keys.replace(/[^0-9*]/g, ''), finishedOnKey: '' } : { digits: keys.slice(0, hash).replace(/[^0-9*]/g, ''), finishedOnKey: '#' };
}

export const callCommand: Command = {
  name: 'call',
  summary: 'place a simulated call through the voice webhooks',
  help,
  async run(args, io) {
    const parsed = parseCommand(callCommand, args, io, {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      digits: { type: 'string' },
      talk: { type: 'string' },
      url: { type: 'string' },
      'account-sid': { type: 'string' },
      param: { type: 'string', multiple: true },
    });
    if (parsed === undefined) return 0;
    expectPositionals(callCommand, parsed.positionals, []);
    const params = customParams((parsed.values.param as string[] | undefined) ?? []);
    const from = str(parsed.values, 'from');
    const to = str(parsed.values, 'to');
    if (from === undefined) throw usageError('tollgate call: --from is missing (who is calling: client:alice, sip:bob@…, +1415…)');
    if (to === undefined) throw usageError('tollgate call: --to is missing (the number dialled)');
    requireIdentity(callCommand, from);
    const talkText = str(parsed.values, 'talk') ?? '30';
    const talk = Number(talkText);
    if (!Number.isInteger(talk) || talk < 0 || talk > 14_400) throw usageError(`--talk "${talkText}" must be a whole number of seconds from 0 to 14400`);

    if (str(parsed.values, 'stack') !== undefined && !io.env.TWILIO_AUTH_TOKEN?.trim()) {
      throw usageError('tollgate call --stack: set TWILIO_AUTH_TOKEN to the auth token of the Account SID you call as; the deployed stack checks signatures with it');
    }
    let baseUrl = str(parsed.values, 'url');
    let accountSid = str(parsed.values, 'account-sid');
    let signUrl = baseUrl;
    if (baseUrl === undefined || accountSid === undefined) {
      const target = await openTarget(io, targetFlags(parsed.values));
      try {
        const account = await resolveAccount(target, str(parsed.values, 'account'));
        accountSid ??= (await accountSettings(target, account)).twilioAccountSids[0];
        // Post to the stack's own address; sign for the public URL it checks signatures against.
        signUrl ??= target.info.publicUrl;
        baseUrl ??= target.info.httpUrl;
      } finally {
        target.close();
      }
    }
    if (accountSid === undefined || baseUrl === undefined || signUrl === undefined) throw new CliError('no Account SID to call as: pass --account-sid');
    const token = io.env.TWILIO_AUTH_TOKEN?.trim() || LOCAL_AUTH_TOKEN;
    const digits = str(parsed.values, 'digits');
    const answers = digits === undefined ? typedAnswers(io) : scriptedAnswers(io, digits);
    return simulateCall(io, { baseUrl: trimSlash(baseUrl), signUrl: trimSlash(signUrl), accountSid, token, from, to, talk, answers, params });
  },
};

/** `--param NAME=VALUE`s as form fields; the names Twilio itself sends cannot be overridden. */
function customParams(items: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? '' : item.slice(0, eq);
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) throw usageError(`--param "${item}": write NAME=VALUE, e.g. --param accountCode=0042`);
    if (/^(CallSid|AccountSid|From|To|Caller|Called|Direction|ApiVersion|CallStatus|SipDomain|ApplicationSid)$/.test(name)) {
      throw usageError(`--param ${name}: Twilio sets ${name} itself; use --from, --to or --account-sid`);
    }
    params[name] = item.slice(eq + 1);
  }
  return params;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

interface CallPlan {
  readonly baseUrl: string;
  readonly signUrl: string;
  readonly accountSid: string;
  readonly token: string;
  readonly from: string;
  readonly to: string;
  readonly talk: number;
  readonly answers: Answers;
  /** Custom parameters of the first webhook (a Voice SDK app's `params`). */
  readonly params: Readonly<Record<string, string>>;
}

async function simulateCall(io: CliIo, plan: CallPlan): Promise<number> {
  return new SimulatedCall(io, plan).run();
}

/** One call as Twilio would run it: webhooks posted and signed, TwiML followed verb by verb. */
class SimulatedCall {
  private readonly io: CliIo;
  private readonly plan: CallPlan;
  private readonly callSid = `CA${randomBytes(16).toString('hex')}`;
  private readonly started = Date.now();
  private readonly common: Record<string, string>;
  private simulatedSeconds = 0;

  constructor(io: CliIo, plan: CallPlan) {
    this.io = io;
    this.plan = plan;
    this.common = {
      CallSid: this.callSid,
      AccountSid: plan.accountSid,
      From: plan.from,
      To: plan.to,
      Caller: plan.from,
      Called: plan.to,
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
    };
    const sip = /^sips?:[^@]+@([^;>]+)/i.exec(plan.from);
    if (sip !== null) this.common.SipDomain = sip[1] as string;
  }

  async run(): Promise<number> {
    this.io.stdout.write(`Calling ${this.plan.to} from ${this.plan.from} (call ${this.callSid})\n`);
    let document: string | undefined = await this.post('/voice/incoming', { CallStatus: 'ringing', ...this.plan.params });
    for (let n = 0; n < MAX_DOCUMENTS && document !== undefined; n++) document = await this.follow(document);
    const duration = Math.max(this.simulatedSeconds, Math.round((Date.now() - this.started) / 1000));
    await this.post('/voice/status', {
      // The caller's own leg completed, whatever happened to the dialled one.
      CallStatus: 'completed',
      CallDuration: String(duration),
      Timestamp: new Date().toUTCString(),
      SequenceNumber: '0',
      CallbackSource: 'call-progress-events',
    });
    this.io.stdout.write(`Call over after ${duration} s; its usage record is stored under ${this.callSid}.\n`);
    return 0;
  }

  /** Play a TwiML document's verbs; the next document, or undefined when the call ends. */
  private async follow(document: string): Promise<string | undefined> {
    for (const verb of readTwiml(document)) {
      const step = await this.play(verb);
      if (step === 'end') return undefined;
      if (typeof step === 'object') return step.document;
    }
    return undefined;
  }

  private async play(verb: Verb): Promise<'continue' | 'end' | { document: string }> {
    switch (verb.verb) {
      case 'Say':
        this.io.stdout.write(`  🔊 "${verb.text}"\n`);
        return 'continue';
      case 'Play':
        this.io.stdout.write(`  🔊 (audio ${verb.url})\n`);
        return 'continue';
      case 'Pause':
        this.simulatedSeconds += verb.seconds;
        return 'continue';
      case 'Gather':
        return this.gather(verb);
      case 'Dial':
        return this.dial(verb);
      case 'Redirect':
        return { document: await this.post(verb.url, { CallStatus: 'in-progress' }) };
      case 'Hangup':
      case 'Reject':
        this.io.stdout.write('  ☎ call ends\n');
        return 'end';
    }
  }

  private async gather(verb: Extract<Verb, { verb: 'Gather' }>): Promise<'continue' | 'end' | { document: string }> {
    for (const p of verb.prompts) if (p.verb === 'Say') this.io.stdout.write(`  🔊 "${p.text}"\n`);
    const answer = await this.plan.answers.next(verb.prompts.map((p) => (p.verb === 'Say' ? p.text : '')).join(' '));
    if (answer === undefined) {
      this.io.stdout.write('  ☎ caller hangs up\n');
      return 'end';
    }
    this.simulatedSeconds += 3;
    if (answer.digits === '' && answer.finishedOnKey === '' && !verb.actionOnEmptyResult) return 'continue';
    return { document: await this.post(verb.action ?? '/voice/incoming', { CallStatus: 'in-progress', Digits: answer.digits, FinishedOnKey: answer.finishedOnKey }) };
  }

  private async dial(verb: Extract<Verb, { verb: 'Dial' }>): Promise<'end' | { document: string }> {
    const callerId = verb.callerId === undefined ? '' : ` (caller ID ${verb.callerId})`;
    this.io.stdout.write(`  📞 dialling ${verb.target.value}${callerId}\n`);
    const answered = this.plan.talk > 0;
    this.io.stdout.write(answered ? `  📞 answered; talking for ${this.plan.talk} s (simulated)\n` : '  📞 no answer\n');
    this.simulatedSeconds += this.plan.talk;
    if (verb.action === undefined) return 'end';
    return {
      document: await this.post(verb.action, {
        CallStatus: 'in-progress',
        DialCallStatus: answered ? 'completed' : 'no-answer',
        DialCallSid: `CA${randomBytes(16).toString('hex')}`,
        ...(answered ? { DialCallDuration: String(this.plan.talk), DialBridged: 'true' } : {}),
      }),
    };
  }

  /** POST a webhook as Twilio does; actions on the public URL go to the stack's own address, signed as public. */
  private async post(pathOrUrl: string, extra: Record<string, string>): Promise<string> {
    const { plan } = this;
    const path = pathOrUrl.startsWith(plan.signUrl) ? pathOrUrl.slice(plan.signUrl.length) : pathOrUrl;
    const absolute = /^https?:\/\//i.test(path);
    const params = { ...this.common, ...extra };
    const signature = signTwilioRequest(absolute ? path : plan.signUrl + path, params, plan.token);
    let res: Response;
    try {
      res = await fetch(absolute ? path : plan.baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new CliError(`could not reach ${plan.baseUrl}${path}: ${(err as Error).message}; is the local stack running (npm start)?`, { cause: err });
    }
    const body = await res.text();
    if (!res.ok) throw new CliError(`${path} answered ${res.status}: ${body.trim()}`);
    return body;
  }
}
