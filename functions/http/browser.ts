import { lambdaEntry } from '../lambdaEntry';
import { getRuntime } from '../runtime';
import { browserHandler } from './browserHandler';

/** The event browser's page and API, for the deployment's service. */
export const handler = lambdaEntry(browserHandler(getRuntime));
