/**
 * The three tables as data: the local stack and the tests create them from here, and the
 * CDK `Data` construct mirrors the same keys (its test compares against these definitions).
 *
 * accounts (pk, sk)
 *   ACCOUNT#<acct>  SETTINGS             settings document: `doc` (JSON string), `updatedAt`
 *   ACCOUNT#<acct>  SID#<ACsid>          the account's claim on a SID (lets a release find every SID it holds)
 *   ACCOUNT#<acct>  SETTINGS#<ISO time>  an applied version of the settings: `doc`, `actor`, `at` (the console's history)
 *   SID#<ACsid>     SID                  `account`: which account a Twilio Account SID belongs to
 *   ACCOUNTS        <acct>               the account index (listAccounts is one Query)
 *   USERS#<acct>    <normalized id>      a user (UserRecord attributes)
 *   IMPORT#<acct>   <objectKey>#<ver>    import ledger entry
 *   IMPORT#<acct>   KEY#<objectKey>      import order of a key: `sequencer` of the newest upload applied, `holder` importing it now
 *   EXPORT#<acct>   DAY#<day>            usage export: a written day (exports.ts)
 *   EXPORT#<acct>   TOTALS#<day>#<n>     usage export: the day's per-code totals, chunked
 *   EXPORT#<acct>   LOCK                 usage export: who exports the account right now
 *
 * codes (pk, sk)
 *   <acct>#<0-f>    A#<digits> | Z#<hmac> a code; the shard digit spreads bulk writes over 16 partitions
 *   <acct>#CID      <E164>#<code key>    caller-ID index entry carrying a copy of the code
 *   <acct>#W#<ab>   <word>#<code key>    description word index entry (code-words.ts); <ab> = the word's first two characters
 *
 * calls (pk), TTL `expiresAt`, sparse GSI byDay (day, startKey)
 *   <CallSid>                            call state + usage record in one item
 *   LOCK#<acct>#<user>                   lockout record
 */
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { errorName } from './errors.ts';

export interface TableNames {
  readonly accounts: string;
  readonly codes: string;
  readonly calls: string;
}

/** Epoch seconds after which DynamoDB may delete an item; every read treats it as gone. */
export const TTL_ATTRIBUTE = 'expiresAt';
/** GSI of the calls table: one account's calls of one local day, in start order. */
export const CALLS_BY_DAY_INDEX = 'byDay';

export interface TableDefinition {
  readonly input: CreateTableCommandInput;
  /** The TTL attribute to enable after creation, when the table has one. */
  readonly ttlAttribute?: string;
}

const S = 'S' as const;

/** The three tables with their keys, index and TTL, on-demand capacity. */
export function tableDefinitions(names: TableNames): Readonly<Record<keyof TableNames, TableDefinition>> {
  const pkSk = (TableName: string): CreateTableCommandInput => ({
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: S },
      { AttributeName: 'sk', AttributeType: S },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  });
  return {
    accounts: { input: pkSk(names.accounts) },
    codes: { input: pkSk(names.codes) },
    calls: {
      input: {
        TableName: names.calls,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: S },
          { AttributeName: 'day', AttributeType: S },
          { AttributeName: 'startKey', AttributeType: S },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: CALLS_BY_DAY_INDEX,
            KeySchema: [
              { AttributeName: 'day', KeyType: 'HASH' },
              { AttributeName: 'startKey', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
      ttlAttribute: TTL_ATTRIBUTE,
    },
  };
}

/**
 * Create the tables that do not exist yet, wait until they are ACTIVE (polling with a
 * deadline) and enable TTL where the server supports it (dynalite does not; the stores filter
 * expired items on read either way).
 */
export async function createTables(client: DynamoDBClient, names: TableNames, options: { readonly timeoutMs?: number; readonly pollMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (const def of Object.values(tableDefinitions(names))) {
    try {
      await client.send(new CreateTableCommand(def.input));
    } catch (err) {
      if (errorName(err) !== 'ResourceInUseException') throw err;
    }
  }
  for (const def of Object.values(tableDefinitions(names))) {
    const TableName = def.input.TableName;
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
      if (Table?.TableStatus === 'ACTIVE' && indexesActive) break;
      if (Date.now() > deadline) throw new Error(`table ${TableName} was not ACTIVE within ${options.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
    }
    if (def.ttlAttribute !== undefined) {
      try {
        await client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true } }));
      } catch (err) {
        // dynalite: UnknownOperationException. A second run: ValidationException (already enabled).
        if (errorName(err) !== 'UnknownOperationException' && errorName(err) !== 'ValidationException') throw err;
      }
    }
  }
}

/** Delete the tables (tests and `tollgate dev --reset`); missing tables are fine. */
export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const TableName of [names.accounts, names.codes, names.calls]) {
    try {
      await client.send(new DeleteTableCommand({ TableName }));
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
    }
  }
}
