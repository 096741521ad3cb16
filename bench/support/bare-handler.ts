/**
 * The baseline of the voice function's cold import (bench/voice.bench.ts): a Lambda handler
 * that does nothing but build one DynamoDB client at module scope, as every function here
 * does. Bundled with exactly the voice function's esbuild options, it is the floor a voice
 * function that talks to DynamoDB could reach.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient({});

export const handler = async (): Promise<{ statusCode: number; body: string }> => ({
  statusCode: 200,
  body: typeof client.send === 'function' ? 'ok' : 'no client',
});
