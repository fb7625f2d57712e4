/** The id of the key a local stack makes for its own agents at every start. */
export const STACK_GATEWAY_KEY_ID = 'agency';

/**
 * The gateway's GATEWAY_API_KEYS in a local stack: the stack's own key first, then a person's
 * (`id:secret,...`), whose entries keep their ids. An entry with the stack's id would make the
 * gateway refuse both, so it is refused here, naming the id and never the secret; the rest of the
 * format is the gateway's to check (it stops at boot naming the entry).
 */
export function gatewayApiKeys(own: string, person?: string): string {
  const extra = (person ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (extra.some((e) => e.slice(0, e.indexOf(':')) === STACK_GATEWAY_KEY_ID)) {
    throw new Error(`GATEWAY_API_KEYS: the id "${STACK_GATEWAY_KEY_ID}" is the local stack's own key; give yours another id (id:secret,...)`);
  }
  return [own, ...extra].join(',');
}
