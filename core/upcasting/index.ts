export { defineUpcasters } from './defineUpcasters';
export { upcastStep, renameEventType, type UpcastStep, type PayloadTransform } from './UpcastStep';
export { addField, renameField, convertField, combine } from './payloadChanges';
export { UpcastError, UpcasterDefinitionError } from './UpcastError';
