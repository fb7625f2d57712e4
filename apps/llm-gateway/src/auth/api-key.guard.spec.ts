import { presentedKey } from './api-key.guard.js';

describe('presentedKey', () => {
  it('reads the key from x-api-key (Anthropic SDK) or Authorization: Bearer (OpenAI SDK)', () => {
    expect(presentedKey({ 'x-api-key': 'sk-ant-1' })).toBe('sk-ant-1');
    expect(presentedKey({ 'x-api-key': 'sk-ant-1', authorization: 'Bearer other' })).toBe('sk-ant-1');
    expect(presentedKey({ authorization: 'Bearer sk-1' })).toBe('sk-1');
    expect(presentedKey({ authorization: 'bearer   sk-1  ' })).toBe('sk-1');
    expect(presentedKey({ authorization: 'Bearer  sk-1' })).toBe('sk-1');
  });

  it('finds nothing in a missing, empty or malformed header', () => {
    expect(presentedKey({})).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Basic dXNlcjpwdw==' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '  ' })).toBeUndefined();
  });
});
