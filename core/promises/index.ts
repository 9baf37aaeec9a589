export { isThenable } from './isThenable';
