/** The name of an error from the SDK (or anything thrown), for telling DynamoDB's errors apart. */
export function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String((err as { name: unknown }).name) : undefined;
}
