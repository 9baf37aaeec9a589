import { lambdaEntry } from '../lambdaEntry';
import { getRuntime } from '../runtime';
import { queryHandler } from './queryHandler';

/** Every query route of the deployment's service. */
export const handler = lambdaEntry(queryHandler(getRuntime));
