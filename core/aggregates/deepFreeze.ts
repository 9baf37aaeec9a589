const isPlainObjectOrArray = (value: unknown): value is object => {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * Freezes a state and every plain object and array in it, so that code
 * changing it in place throws (modules run in strict mode) instead of quietly
 * changing it for everyone who holds it. Other objects (Dates, Maps, class
 * instances) are left as they are.
 *
 * A value already frozen is taken to be frozen through: a new state shares its
 * unchanged parts with the one it was evolved from, which was frozen before,
 * so freezing it costs only its new parts.
 */
export function deepFreeze<T>(value: T): T {
  if (!isPlainObjectOrArray(value) || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const part of Object.values(value)) deepFreeze(part);
  return value;
}
