/** The composition root's one call: every DynamoDB store over one client and one set of tables. */
import type {
  AccountStore,
  CallContextStore,
  CallStore,
  CodePages,
  CodesGeneration,
  CodeStore,
  ExportLedger,
  ExportLock,
  ImportLedger,
  ImportOrder,
  SettingsHistory,
  LockoutStore,
  UsageSource,
  UserStore,
} from '../../core/ports.ts';
import { DynamoCallContextStore } from './call-context.ts';
import { DynamoAccountStore, DynamoImportLedger, type AccountStoreOptions } from './accounts.ts';
import { DynamoCallStore, DynamoLockoutStore, type CallStoreOptions } from './calls.ts';
import { DynamoCodeStore, type CodeStoreOptions } from './codes.ts';
import { DynamoExportLedger } from './exports.ts';
import { DynamoCodeWords } from './code-words.ts';
import { DynamoUserStore } from './users.ts';

export type DynamoStoreOptions = CallStoreOptions & CodeStoreOptions & Pick<AccountStoreOptions, 'sidBindings'>;

export interface DynamoStores {
  readonly accounts: AccountStore & SettingsHistory;
  readonly users: UserStore;
  /** Also tells whether an account has any code (`hasCodes`), for the importer, and pages through them (`pageCodes`), for the console. */
  readonly codes: CodeStore & CodePages & Pick<DynamoCodeStore, 'hasCodes'>;
  /** Also the usage export's reads (`callsOfDay`, `changedSince`, `hasCalls`). */
  readonly calls: CallStore & UsageSource;
  readonly lockouts: LockoutStore;
  /** The import ledger, which also keeps the upload order of each object key. */
  readonly ledger: ImportLedger & ImportOrder & CodesGeneration;
  readonly callContext: CallContextStore;
  /** The usage export's ledger of written days and its per-account lock. */
  readonly exports: ExportLedger & ExportLock;
  /** The codes' description word index (its backfill; the code store reads it). */
  readonly codeWords: DynamoCodeWords;
}

export function makeDynamoStores(options: DynamoStoreOptions): DynamoStores {
  return {
    accounts: new DynamoAccountStore(options),
    users: new DynamoUserStore(options),
    codes: new DynamoCodeStore(options),
    calls: new DynamoCallStore(options),
    lockouts: new DynamoLockoutStore(options),
    ledger: new DynamoImportLedger(options),
    callContext: new DynamoCallContextStore(options),
    exports: new DynamoExportLedger(options),
    codeWords: new DynamoCodeWords(options),
  };
}

export { DynamoAccountStore, DynamoImportLedger, DynamoCallStore, DynamoLockoutStore, DynamoCodeStore, DynamoUserStore, DynamoExportLedger };
