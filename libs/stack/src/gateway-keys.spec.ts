import { gatewayApiKeys } from './gateway-keys.js';

describe("the local stack's gateway keys", () => {
  it("are the stack's own key, then a person's GATEWAY_API_KEYS entries as given", () => {
    expect(gatewayApiKeys('agency:agk_own')).toBe('agency:agk_own');
    expect(gatewayApiKeys('agency:agk_own', ' me:0123456789abcdef0 , ci:fedcba98765432100,')).toBe('agency:agk_own,me:0123456789abcdef0,ci:fedcba98765432100');
  });

  it("refuse a person's key with the stack's id, naming the id and not the secret", () => {
    expect(() => gatewayApiKeys('agency:agk_own', 'agency:secret-secret-secret')).toThrow(/^GATEWAY_API_KEYS: the id "agency" is the local stack's own key/);
    expect(() => gatewayApiKeys('agency:agk_own', 'agency:secret-secret-secret')).not.toThrow(/secret-secret/);
  });
});
