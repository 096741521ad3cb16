/**
 * Stored items checked as they are read (functions/adapters/dynamodb/stored.ts): the checked
 * copy keeps only the attributes of the shape, and a wrong one is named with its path.
 */
import { describe, expect, it } from 'vitest';
import { StoredItemError, storedCall, storedCode, storedUser } from '../../functions/adapters/dynamodb/stored.ts';
import { testCall } from '../support/call-fixtures.ts';

const call = {
  ...testCall({ phase: 'prompting', step: 0, attempts: 0, codeStatus: 'none', dialCompleted: false, statusReceived: false }),
  dial: { target: { kind: 'number' as const, number: '+442079460018' }, callerId: '+14155550100' },
  lastActions: [{ type: 'gather' as const, prompt: 'Code?', step: 1, timeoutSeconds: 6, numDigits: 4 }],
};
const { code: _code, codeDescription: _description, codeKind: _kind, ...uncoded } = call;

describe('stored items', () => {
  it('gives back the fields of the shape and drops any other attribute', () => {
    expect(storedCall({ ...uncoded, revision: 7, somethingElse: 'x' })).toEqual(uncoded);
    expect(storedUser({ id: 'client:alice', language: 'es-US', calls: { international: 'blocked' }, stray: 1 })).toEqual({
      id: 'client:alice',
      language: 'es-US',
      calls: { international: 'blocked' },
    });
    expect(storedCode({ kind: 'authorization', ref: 'abcd1234', enabled: true, level: 2 })).toEqual({ kind: 'authorization', ref: 'abcd1234', enabled: true, level: 2 });
  });

  it('names every wrong attribute with its path, nested ones too', () => {
    const bad = { ...uncoded, lastActions: [{ type: 'gather', prompt: 'Code?', step: -1, timeoutSeconds: 6 }, { type: 'jump' }], dial: { target: { kind: 'number' } } };
    expect(() => storedCall(bad)).toThrow(StoredItemError);
    expect(() => storedCall(bad)).toThrow(/lastActions\.0\.step: must be a whole number from 0; lastActions\.1\.type: must be one of say, gather, dial, hangup/);
    expect(() => storedCall(bad)).toThrow(/dial\.target\.number: must be text/);
    expect(() => storedUser({ id: 'client:bob', calls: { emergency: 'maybe' } })).toThrow(
      /the stored user client:bob .*calls\.emergency: must be one of free, optional, required, authorized, blocked/,
    );
    expect(() => storedCode({ kind: 'account', code: '918273', enabled: true, level: 300 })).toThrow(/a stored account code .*level: must be a whole number from 0 to 255/);
  });
});
