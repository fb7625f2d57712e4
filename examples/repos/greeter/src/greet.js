/** Returns a friendly greeting for `name`. */
export function greet(name) {
  return `Hello, ${name}!`;
}
