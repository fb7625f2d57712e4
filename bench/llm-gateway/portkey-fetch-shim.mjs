// Preloaded into Portkey's process for the streaming comparison only (node --import).
// Portkey 1.15.2 cannot stream on Node with the @hono/node-server it installs (1.19): it wraps the
// upstream's fetch Response in hono's Response class, which keeps fetch's immutable headers, then
// appends its own headers to them and fails with "TypeError: immutable" ("Something went wrong").
// This gives fetch responses mutable headers (a copy) and changes nothing else.
const NativeResponse = globalThis.Response;
const nativeFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const r = await nativeFetch(input, init);
  return new NativeResponse(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
