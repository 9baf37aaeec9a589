import { describe, expect, it } from 'vitest';
import { bankCommands } from '../../core/bank';
import { defineService, ServiceDefinitionError } from '../../core/service';

const bankPublishing = (publishing: unknown) => defineService({ name: 'bank', commands: bankCommands, publishing: publishing as never });

describe("a service's publishing, given from plain JavaScript", () => {
  it('refuses integration subjects that are no list of subjects: one text was spread into a subject per character, and its messages parked', () => {
    for (const integrationSubjects of ['orders', {}, [42], null]) {
      expect(() => bankPublishing({ integrationSubjects }), JSON.stringify(integrationSubjects)).toThrow(
        new ServiceDefinitionError('publishing.integrationSubjects must be a list of subjects the stream captures'),
      );
    }
    expect(bankPublishing({ integrationSubjects: ['orders', 'compliance.*.large'] }).publishing?.integrationSubjects).toEqual(['orders', 'compliance.*.large']);
  });

  it('refuses a routing prefix, which replaced the deployment\'s (PUBLISH_SUBJECT_PREFIX) and had every event parked, and a subjectFor that is no function', () => {
    expect(() => bankPublishing({ routing: { prefix: 'other' } })).toThrow(
      new ServiceDefinitionError('publishing.routing takes no prefix: the deployment sets it (PUBLISH_SUBJECT_PREFIX)'),
    );
    expect(() => bankPublishing({ routing: { subjectFor: 'bank.accounts' } })).toThrow(new ServiceDefinitionError('publishing.routing.subjectFor must be a function'));
    for (const publishing of ['on', { routing: 'default' }]) expect(() => bankPublishing(publishing), JSON.stringify(publishing)).toThrow(ServiceDefinitionError);
    expect(() => bankPublishing({ routing: { subjectFor: () => undefined } })).not.toThrow();
  });
});
