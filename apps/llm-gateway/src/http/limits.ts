/** Prompts carry whole files; past this a request is refused with 413 before it is parsed. */
export const GATEWAY_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
