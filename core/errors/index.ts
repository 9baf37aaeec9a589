export { describeError } from './describeError';
export { thrownMessage, thrownText } from './thrownText';
