import { describe, expect, it } from 'vitest';
import { compileRoutes, type LocalRoute } from '../../functions/local';

const handler: LocalRoute['handler'] = () => Promise.resolve({ statusCode: 204 });
const route = (method: string, path: string): LocalRoute => ({ method, path, handler });

describe('route matching', () => {
  it('prefers literal segments, then variables, then a greedy variable, and an exact method over ANY', () => {
    const { match } = compileRoutes([
      route('ANY', '/{proxy+}'),
      route('POST', '/commands/{type}'),
      route('ANY', '/commands/{type}'),
      route('POST', '/commands/special'),
    ]);
    expect(match('POST', '/commands/special')?.routeKey).toBe('POST /commands/special');
    expect(match('POST', '/commands/Deposit')).toMatchObject({ routeKey: 'POST /commands/{type}', pathParameters: { type: 'Deposit' } });
    expect(match('put', '/commands/Deposit')?.routeKey).toBe('ANY /commands/{type}');
    expect(match('GET', '/anything/else')).toMatchObject({ routeKey: 'ANY /{proxy+}', pathParameters: { proxy: 'anything/else' } });
  });

  it('matches whole segments only, and passes a malformed escape through', () => {
    const { match } = compileRoutes([route('GET', '/streams/{id}')]);
    expect(match('GET', '/streams')).toBeUndefined();
    expect(match('GET', '/streams/a/b')).toBeUndefined();
    expect(match('GET', '/streams/%E0%A4%A')?.pathParameters).toEqual({ id: '%E0%A4%A' });
  });

  it('lists the methods routes take at a path, for a 405', () => {
    const { methodsAt } = compileRoutes([route('POST', '/commands/{type}'), route('GET', '/commands/{id}'), route('GET', '/accounts/{id}')]);
    expect(methodsAt('/commands/Deposit')).toEqual(['GET', 'POST']);
    expect(methodsAt('/accounts/a')).toEqual(['GET']);
    expect(methodsAt('/nowhere')).toEqual([]);
  });

  it('refuses malformed and duplicate routes when the table is compiled', () => {
    expect(() => compileRoutes([route('GET', 'no-slash')])).toThrow(/must start with/);
    expect(() => compileRoutes([route('GET', '/a{b}')])).toThrow(/whole segments/);
    expect(() => compileRoutes([route('GET', '/{rest+}/tail')])).toThrow(/last segment/);
    expect(() => compileRoutes([route('GET', '/a/{x}'), route('get', '/a/{x}')])).toThrow(/Duplicate route: GET \/a\/\{x\}/);
  });
});
