// Runs in a fresh Node process, as a Lambda container would: imports one
// bundle, invokes its handler once with the event given as JSON, prints the result.
import { randomUUID } from 'node:crypto';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const [file, eventJson] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(file).href);
const deadline = Date.now() + 30_000;
const context = {
  functionName: 'bundle-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bundle-test',
  memoryLimitInMB: '1024',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/bundle-test',
  logStreamName: 'local',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
const result = await handler(JSON.parse(eventJson), context);
process.stdout.write(`\n${JSON.stringify(result ?? null)}`);
// The runtime's pool would keep the process alive; a Lambda container is frozen instead.
process.exit(0);
