/**
 * Accounts table: settings, the Twilio Account SID → account mapping, the account index and
 * the import ledger (see tables.ts for the key layout).
 */
import { createHash, randomUUID } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  SidTakenError,
  type AccountStore,
  type ImportLedger,
  type ImportOrder,
  type CodesGeneration,
  type ImportCheckpoint,
  type ImportFingerprint,
  type LedgerEntry,
  type SettingsChange,
  type SettingsHistory,
  type SettingsVersion,
  type SidBindings,
} from '../../core/ports.ts';
import type { Settings } from '../../core/settings.ts';
import { num, str, type Item } from './attributes.ts';
import { batchWrite, type BatchOptions } from './batch.ts';
import { isConditionalCheckFailed, isOwnWrite, queryItems, systemClock, wasRetried, WRITE_ID_ATTRIBUTE, type StoreOptions } from './common.ts';

export const settingsKey = (account: string): Item => ({ pk: { S: `ACCOUNT#${account}` }, sk: { S: 'SETTINGS' } });

/** The settings an account's settings item holds. The document was the schema's output when it was stored: trusted, not re-validated. */
export function settingsOf(item: Item | undefined): Settings | undefined {
  const doc = str(item, 'doc');
  return doc === undefined ? undefined : (JSON.parse(doc) as Settings);
}
const sidKey = (sid: string): Item => ({ pk: { S: `SID#${sid}` }, sk: { S: 'SID' } });
const historyKey = (account: string, at: string): Item => ({ pk: { S: `ACCOUNT#${account}` }, sk: { S: `${HISTORY}${at}` } });
const HISTORY = 'SETTINGS#';
const claimKey = (account: string, sid: string): Item => ({ pk: { S: `ACCOUNT#${account}` }, sk: { S: `SID#${sid}` } });
const ACCOUNT_INDEX = 'ACCOUNTS';

export interface AccountStoreOptions extends StoreOptions {
  /**
   * The operator's SID bindings (AWS: the Twilio token secret). Without them, as locally, a
   * SID nobody holds is bound to the first account whose settings name it.
   */
  readonly sidBindings?: SidBindings;
}

/**
 * Settings are written in an order that converges if the writer dies anywhere and the same
 * document is put again: claim the SIDs (each a conditional put), then the settings and index
 * items, then release what the account no longer lists. Each claim also leaves a record under
 * the account, so the release finds every SID the account holds, even ones a crashed earlier
 * put claimed for settings that were never written.
 *
 * Who may claim a SID (docs/security.md, "Tenancy"): with the operator's bindings, only the
 * account it is bound to, which takes it over from any other; without, the first account to
 * name it. A refusal never names the account that holds the SID.
 */
export class DynamoAccountStore implements AccountStore, SettingsHistory {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => Date;
  private readonly batch: BatchOptions;
  private readonly bindings: SidBindings | undefined;

  constructor(options: AccountStoreOptions) {
    this.client = options.client;
    this.table = options.tables.accounts;
    this.now = options.now ?? systemClock;
    this.batch = options.batch ?? {};
    this.bindings = options.sidBindings;
  }

  async getSettings(account: string): Promise<Settings | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: settingsKey(account), ConsistentRead: true }));
    return settingsOf(out.Item);
  }

  async settingsHistory(account: string, limit: number): Promise<SettingsVersion[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :history)',
        ExpressionAttributeValues: { ':pk': { S: `ACCOUNT#${account}` }, ':history': { S: HISTORY } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    // Each document was the schema's output when it was stored, like the current one.
    return (out.Items ?? []).map((item) => ({ at: str(item, 'at') ?? '', actor: str(item, 'actor') ?? 'unknown', settings: JSON.parse(str(item, 'doc') ?? '{}') as Settings }));
  }

  async accountForSid(accountSid: string): Promise<string | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: sidKey(accountSid) }));
    return str(out.Item, 'account');
  }

  async putSettings(settings: Settings, change?: SettingsChange): Promise<void> {
    const account = settings.account;
    const sids = [...new Set(settings.twilioAccountSids)];
    if (this.bindings !== undefined) {
      // Checked before anything is written: a refused document changes nothing.
      for (const sid of sids) if ((await this.bindings(sid)) !== account) throw new SidTakenError(sid, 'unbound');
    }
    const claimedNow: string[] = [];
    for (const sid of sids) {
      const claimed = this.bindings === undefined ? await this.claim(account, sid) : await this.bind(account, sid);
      if (claimed.taken !== undefined) {
        // Undo only what this call added; SIDs the account already held stay its own.
        await Promise.all(claimedNow.map((s) => this.release(account, s)));
        await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: claimKey(account, sid) }));
        throw new SidTakenError(sid, 'held');
      }
      if (claimed.isNew) claimedNow.push(sid);
    }
    const updatedAt = this.now().toISOString();
    await batchWrite(
      this.client,
      this.table,
      [
        { PutRequest: { Item: { ...settingsKey(account), doc: { S: JSON.stringify(settings) }, updatedAt: { S: updatedAt } } } },
        { PutRequest: { Item: { pk: { S: ACCOUNT_INDEX }, sk: { S: account }, updatedAt: { S: updatedAt } } } },
        // The version, for the console's history and revert (a retried import may keep two of the same document).
        ...(change === undefined
          ? []
          : [{ PutRequest: { Item: { ...historyKey(account, change.at), doc: { S: JSON.stringify(settings) }, actor: { S: change.actor }, at: { S: change.at } } } }]),
      ],
      this.batch,
    );
    const keep = new Set(sids);
    const held: string[] = [];
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sid)',
      ExpressionAttributeValues: { ':pk': { S: `ACCOUNT#${account}` }, ':sid': { S: 'SID#' } },
      ConsistentRead: true,
    })) {
      const sid = str(item, 'sk')?.slice(4);
      if (sid !== undefined && !keep.has(sid)) held.push(sid);
    }
    await Promise.all(held.map((s) => this.release(account, s)));
  }

  async listAccounts(): Promise<string[]> {
    const accounts: string[] = [];
    for await (const item of queryItems(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: ACCOUNT_INDEX } },
      ProjectionExpression: 'sk',
    })) {
      const sk = str(item, 'sk');
      if (sk !== undefined) accounts.push(sk);
    }
    return accounts;
  }

  async bindSid(accountSid: string, account: string): Promise<void> {
    await this.bind(account, accountSid);
  }

  /** The operator's word: the SID is the account's, whoever held it (their claim record goes). */
  private async bind(account: string, sid: string): Promise<{ readonly isNew: boolean; readonly taken?: string }> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...claimKey(account, sid), sid: { S: sid } } }));
    const out = await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...sidKey(sid), account: { S: account } }, ReturnValues: 'ALL_OLD' }));
    const before = str(out.Attributes, 'account');
    if (before !== undefined && before !== account) await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: claimKey(before, sid) }));
    return { isNew: before !== account };
  }

  /** Claim a SID for the account: the claim record first, then the conditional mapping. */
  private async claim(account: string, sid: string, tries = 3): Promise<{ readonly isNew: boolean; readonly taken?: string }> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...claimKey(account, sid), sid: { S: sid } } }));
    try {
      const out = await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { ...sidKey(sid), account: { S: account } },
          ConditionExpression: 'attribute_not_exists(pk) OR account = :me',
          ExpressionAttributeValues: { ':me': { S: account } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { isNew: out.Attributes === undefined };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const owner = await this.accountForSid(sid);
      // Released between the two requests: try once more rather than report a stale owner.
      if (owner === undefined && tries > 1) return this.claim(account, sid, tries - 1);
      if (owner === undefined) throw new Error(`could not claim Twilio Account SID ${sid}: it keeps changing hands`, { cause: err });
      return { isNew: false, taken: owner };
    }
  }

  /** Drop the SID mapping if it is still this account's, then the claim record. */
  private async release(account: string, sid: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: sidKey(sid),
          ConditionExpression: 'account = :me',
          ExpressionAttributeValues: { ':me': { S: account } },
        }),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: claimKey(account, sid) }));
  }
}

/** DynamoDB sort keys are at most 1024 bytes; an S3 key may be as long on its own. */
const MAX_SORT_KEY_BYTES = 1024;

function ledgerKey(account: string, objectKey: string, versionId: string): Item {
  let sk = `${objectKey}#${versionId}`;
  if (Buffer.byteLength(sk, 'utf8') > MAX_SORT_KEY_BYTES) {
    sk = `sha256:${createHash('sha256').update(objectKey, 'utf8').digest('hex')}#${versionId}`;
  }
  return { pk: { S: `IMPORT#${account}` }, sk: { S: sk } };
}

/** The account's codes generation (docs/data-model.md, "Unchanged rows"). */
const generationKey = (account: string): Item => ({ pk: { S: `ACCOUNT#${account}` }, sk: { S: 'CODES' } });

/** The order item of an object key: `KEY#<objectKey>` (object keys start with `imports/`, so it meets no ledger entry). */
function orderKey(account: string, objectKey: string): Item {
  let sk = `KEY#${objectKey}`;
  if (Buffer.byteLength(sk, 'utf8') > MAX_SORT_KEY_BYTES) sk = `KEY#sha256:${createHash('sha256').update(objectKey, 'utf8').digest('hex')}`;
  return { pk: { S: `IMPORT#${account}` }, sk: { S: sk } };
}

const LEDGER_STATUSES: ReadonlySet<string> = new Set(['applying', 'applied', 'rejected', 'failed', 'paused']);

/**
 * Which object versions the import function has applied (docs/data-model.md idempotency), and per object
 * key who is importing it and the sequencer of the newest upload applied ({@link ImportOrder}).
 */
export class DynamoImportLedger implements ImportLedger, ImportOrder, CodesGeneration {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.table = options.tables.accounts;
  }

  async get(account: string, objectKey: string, versionId: string): Promise<LedgerEntry | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: ledgerKey(account, objectKey, versionId), ConsistentRead: true }));
    const status = str(out.Item, 'status');
    const at = str(out.Item, 'at');
    if (status === undefined || at === undefined || !LEDGER_STATUSES.has(status)) return undefined;
    const reportKey = str(out.Item, 'reportKey');
    const checkpoint = str(out.Item, 'checkpoint');
    return {
      status: status as LedgerEntry['status'],
      at,
      ...(reportKey === undefined ? {} : { reportKey }),
      ...(checkpoint === undefined ? {} : { checkpoint: JSON.parse(checkpoint) as ImportCheckpoint }),
    };
  }

  async claim(account: string, objectKey: string, versionId: string, at: Date, leaseMs: number): Promise<boolean> {
    const key = ledgerKey(account, objectKey, versionId);
    const writeId = randomUUID();
    try {
      // An update, not a put: a paused run's checkpoint stays for whoever continues it.
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #objectKey = :key, #versionId = :version, #status = :applying, #at = :at, #writeId = :writeId',
          // ISO instants compare as strings.
          ConditionExpression: 'attribute_not_exists(pk) OR #status IN (:failed, :paused) OR (#status = :applying AND #at < :stale)',
          ExpressionAttributeNames: { '#status': 'status', '#at': 'at', '#objectKey': 'objectKey', '#versionId': 'versionId', '#writeId': WRITE_ID_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':key': { S: objectKey },
            ':version': { S: versionId },
            ':applying': { S: 'applying' },
            ':failed': { S: 'failed' },
            ':paused': { S: 'paused' },
            ':at': { S: at.toISOString() },
            ':writeId': { S: writeId },
            ':stale': { S: new Date(at.getTime() - leaseMs).toISOString() },
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      // Our own claim, answered too late and sent again: without this the version would wait
      // out its lease, held by nobody.
      return wasRetried(err) && (await isOwnWrite(this.client, this.table, key, writeId));
    }
  }

  async acquire(account: string, objectKey: string, holder: string, at: Date, leaseMs: number): Promise<{ readonly acquired: boolean; readonly lastApplied?: string }> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: orderKey(account, objectKey),
          UpdateExpression: 'SET #holder = :me, #heldAt = :at, #objectKey = :key, #rows = :zero',
          // ISO instants compare as strings.
          ConditionExpression: 'attribute_not_exists(#holder) OR #holder = :me OR #heldAt < :stale',
          ExpressionAttributeNames: { '#holder': 'holder', '#heldAt': 'heldAt', '#objectKey': 'objectKey', '#rows': 'rows' },
          ExpressionAttributeValues: {
            ':zero': { N: '0' },
            ':me': { S: holder },
            ':at': { S: at.toISOString() },
            ':key': { S: objectKey },
            ':stale': { S: new Date(at.getTime() - leaseMs).toISOString() },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const lastApplied = str(out.Attributes, 'sequencer');
      const generation = num(out.Attributes, 'generation');
      const digests = str(out.Attributes, 'digests');
      return {
        acquired: true,
        ...(lastApplied === undefined ? {} : { lastApplied }),
        ...(generation === undefined || digests === undefined ? {} : { fingerprint: { generation, digests } }),
      };
    } catch (err) {
      if (isConditionalCheckFailed(err)) return { acquired: false };
      throw err;
    }
  }

  async release(account: string, objectKey: string, holder: string, applied?: { readonly sequencer?: string; readonly fingerprint?: ImportFingerprint }): Promise<void> {
    const set: string[] = [];
    const names: Record<string, string> = { '#holder': 'holder', '#heldAt': 'heldAt', '#rows': 'rows' };
    const values: Record<string, AttributeValue> = { ':me': { S: holder } };
    const remove = ['#holder', '#heldAt', '#rows'];
    if (applied?.sequencer !== undefined) {
      set.push('#seq = :seq');
      names['#seq'] = 'sequencer';
      values[':seq'] = { S: applied.sequencer };
    }
    if (applied !== undefined) {
      // An applied upload's fingerprint replaces the last one; without one, none is kept.
      names['#gen'] = 'generation';
      names['#digests'] = 'digests';
      if (applied.fingerprint === undefined) remove.push('#gen', '#digests');
      else {
        set.push('#gen = :gen', '#digests = :digests');
        values[':gen'] = { N: String(applied.fingerprint.generation) };
        values[':digests'] = { S: applied.fingerprint.digests };
      }
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: orderKey(account, objectKey),
          UpdateExpression: `${set.length > 0 ? `SET ${set.join(', ')} ` : ''}REMOVE ${remove.join(', ')}`,
          // Only while held: a run whose lease ran out and was taken over changes nothing.
          ConditionExpression: '#holder = :me',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      // Released already (a retry whose first attempt landed), or taken over after the lease.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  async codesGeneration(account: string): Promise<number> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: generationKey(account), ConsistentRead: true }));
    return num(out.Item, 'generation') ?? 0;
  }

  async advanceCodesGeneration(account: string, from: number | undefined, wrote: boolean): Promise<number | undefined> {
    const next = from === undefined ? undefined : from + (wrote ? 1 : 0);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: generationKey(account),
          ...(next === undefined
            ? { UpdateExpression: 'ADD #gen :one', ExpressionAttributeValues: { ':one': { N: '1' } } }
            : {
                UpdateExpression: 'SET #gen = :next',
                // Generation 0 is an item not written yet.
                ConditionExpression: from === 0 ? 'attribute_not_exists(#gen) OR #gen = :from' : '#gen = :from',
                ExpressionAttributeValues: { ':next': { N: String(next) }, ':from': { N: String(from) } },
              }),
          ExpressionAttributeNames: { '#gen': 'generation' },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return num(out.Attributes, 'generation') ?? next;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw err;
    }
  }

  async progress(account: string, objectKey: string, holder: string, rows: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: orderKey(account, objectKey),
          UpdateExpression: 'SET #rows = :rows',
          ConditionExpression: '#holder = :me',
          ExpressionAttributeNames: { '#holder': 'holder', '#rows': 'rows' },
          ExpressionAttributeValues: { ':me': { S: holder }, ':rows': { N: String(rows) } },
        }),
      );
    } catch (err) {
      // Taken over after the lease: the other run reports its own progress.
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }

  async inProgress(account: string, objectKey: string): Promise<{ readonly since: string; readonly rows: number } | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: orderKey(account, objectKey), ConsistentRead: true }));
    const since = str(out.Item, 'heldAt');
    if (since === undefined || str(out.Item, 'holder') === undefined) return undefined;
    return { since, rows: num(out.Item, 'rows') ?? 0 };
  }

  async put(account: string, objectKey: string, versionId: string, entry: LedgerEntry): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...ledgerKey(account, objectKey, versionId),
          objectKey: { S: objectKey },
          versionId: { S: versionId },
          status: { S: entry.status },
          at: { S: entry.at },
          ...(entry.reportKey === undefined ? {} : { reportKey: { S: entry.reportKey } }),
          ...(entry.checkpoint === undefined ? {} : { checkpoint: { S: JSON.stringify(entry.checkpoint) } }),
        },
      }),
    );
  }
}
