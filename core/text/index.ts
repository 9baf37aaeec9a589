export { isAtMostCharacters } from './characterCount';
export {
  findUnstorableText,
  hasLoneSurrogate,
  MAX_NESTING_DEPTH,
  nestedTooDeep,
  storableJson,
  storableText,
  whyUnstorable,
  whyUnstorableJson,
  type UnstorableText,
} from './storableText';
