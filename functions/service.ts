// The service this deployment runs: the one line that names it.
export { bankService as service } from '../core/bank';
