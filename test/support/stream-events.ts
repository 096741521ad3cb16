/** DynamoDB stream records as Lambda receives them (NEW_AND_OLD_IMAGES), typed by `@types/aws-lambda`. */
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { toItem } from '../../functions/adapters/dynamodb/attributes.ts';

let sequence = 100;

/** One write of the item at `keys`: its image before and after (absent: it did not exist). */
export function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', keys: Record<string, unknown>, before?: object, after?: object): DynamoDBRecord {
  const image = (fields: object) => toItem({ ...fields, ...keys }) as never;
  sequence++;
  return {
    eventID: `c81e728d9d4c2f636f067f89cc14${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_796_353_200,
      Keys: toItem(keys) as never,
      ...(before === undefined ? {} : { OldImage: image(before) }),
      ...(after === undefined ? {} : { NewImage: image(after) }),
      SequenceNumber: `${sequence}00000000000000000000`,
      SizeBytes: 120,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/tollgate-codes/stream/2026-12-04T00:00:00.000',
  };
}

export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
