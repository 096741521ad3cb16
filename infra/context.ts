/**
 * The deployment's options from CDK context (`cdk.json` or `-c key=value`), parsed once and
 * checked, so a typo fails the synth with the option's name rather than deploying something
 * else. Values from `-c` arrive as strings; from `cdk.json` as JSON.
 */
import { ACCOUNT_SLUG, E164 } from '../functions/core/identifiers.ts';
import { DEFAULT_STACK_NAME } from './outputs.ts';

/** Reads context the way `Node.tryGetContext` does. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/** The options TollgateStack takes from context. */
export interface TollgateContext {
  /**
   * `emergencyCallerId`: the caller ID an emergency call carries when neither the user, the
   * entry point nor the account has one. Required to deploy (infra/app.ts).
   */
  readonly emergencyCallerId?: string;
  /** `stackName`. @default "Tollgate" */
  readonly stackName: string;
  /** `accounts`: tenants that get per-account admin and finance policies, e.g. `["acme"]`. @default none */
  readonly accounts: readonly string[];
  /** `alertEmail`: an address subscribed to the alerts topic. @default no subscription */
  readonly alertEmail?: string;
  /** `domainName` and `certificateArn`: a custom domain for the voice API. @default the API's own URL */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** `exportsRetentionDays`: usage files under `exports/` expire after this many days. @default kept */
  readonly exportsRetentionDays?: number;
  /** `noncurrentVersionDays`: old object versions (the audit trail) expire after this many days. @default 365 */
  readonly noncurrentVersionDays?: number;
  /** `tracing`: X-Ray active tracing on every function. @default false */
  readonly tracing: boolean;
}

const CONTEXT_KEYS = [
  'emergencyCallerId',
  'stackName',
  'accounts',
  'alertEmail',
  'domainName',
  'certificateArn',
  'exportsRetentionDays',
  'noncurrentVersionDays',
  'tracing',
] as const;

/** Parse and check the context options; throws {@link ContextError} naming the option. */
export function readTollgateContext(node: ContextSource): TollgateContext {
  const get = (key: (typeof CONTEXT_KEYS)[number]): unknown => {
    const value = node.tryGetContext(key);
    return value === '' ? undefined : value;
  };

  const stackName = get('stackName') ?? DEFAULT_STACK_NAME;
  if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new ContextError(`context stackName "${String(stackName)}" is not a CloudFormation stack name: letters, digits and "-", starting with a letter`);
  }

  const accounts = parseAccounts(get('accounts'));

  const emergencyCallerId = get('emergencyCallerId');
  if (emergencyCallerId !== undefined && (typeof emergencyCallerId !== 'string' || !E164.test(emergencyCallerId))) {
    throw new ContextError(`context emergencyCallerId "${String(emergencyCallerId)}" is not an E.164 number such as +14155550100`);
  }

  const alertEmail = get('alertEmail');
  if (alertEmail !== undefined && (typeof alertEmail !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail))) {
    throw new ContextError(`context alertEmail "${String(alertEmail)}" is not an e-mail address`);
  }

  const domainName = get('domainName');
  const certificateArn = get('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new ContextError('context domainName and certificateArn go together: give both for a custom domain, or neither');
  }
  if (domainName !== undefined && (typeof domainName !== 'string' || !/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i.test(domainName))) {
    throw new ContextError(`context domainName "${String(domainName)}" is not a domain name`);
  }
  if (certificateArn !== undefined && (typeof certificateArn !== 'string' || !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(certificateArn))) {
    throw new ContextError(`context certificateArn "${String(certificateArn)}" is not an ACM certificate ARN (in the stack's region)`);
  }

  const exportsRetentionDays = days(get('exportsRetentionDays'), 'exportsRetentionDays');
  const noncurrentVersionDays = days(get('noncurrentVersionDays'), 'noncurrentVersionDays');
  const tracing = flag(get('tracing'), 'tracing');

  return {
    stackName,
    accounts,
    tracing,
    ...(typeof emergencyCallerId === 'string' ? { emergencyCallerId } : {}),
    ...(typeof alertEmail === 'string' ? { alertEmail } : {}),
    ...(typeof domainName === 'string' && typeof certificateArn === 'string' ? { customDomain: { domainName: domainName.toLowerCase(), certificateArn } } : {}),
    ...(exportsRetentionDays === undefined ? {} : { exportsRetentionDays }),
    ...(noncurrentVersionDays === undefined ? {} : { noncurrentVersionDays }),
  };
}

/** `["acme","globex"]` from cdk.json, or `-c accounts='["acme"]'`, or `-c accounts=acme,globex`. */
function parseAccounts(value: unknown): string[] {
  if (value === undefined) return [];
  let list: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text);
      } catch {
        throw new ContextError(`context accounts is not a JSON list: ${text}`);
      }
    } else {
      list = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    }
  }
  if (!Array.isArray(list)) throw new ContextError('context accounts must be a list of account names, e.g. ["acme"]');
  const seen = new Set<string>();
  for (const account of list) {
    if (typeof account !== 'string' || !ACCOUNT_SLUG.test(account)) {
      throw new ContextError(`context accounts: "${String(account)}" is not an account name (1-40 lower-case letters, digits or "-")`);
    }
    if (seen.has(account)) throw new ContextError(`context accounts names "${account}" twice`);
    seen.add(account);
  }
  return [...seen];
}

function days(value: unknown, key: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 36_500) {
    throw new ContextError(`context ${key} "${String(value)}" must be a whole number of days from 1 to 36500`);
  }
  return n;
}

function flag(value: unknown, key: string): boolean {
  if (value === undefined) return false;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ContextError(`context ${key} "${String(value)}" must be true or false`);
}
