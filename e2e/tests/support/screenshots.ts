import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** Colours of the dashboard's stylesheet (apps/dashboard/src/ui/styles.css.ts) the screenshots must show. */
export const COLOURS = { header: '#111827', page: '#f6f7f9', waiting: '#fdf3e1', stopped: '#fde8e8', diffAdd: '#e6ffed' };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Pixel counts per colour of a PNG, decoded by Chromium itself (no image library needed), most frequent first. */
export async function pngColours(page: Page, png: Buffer): Promise<Array<[string, number]>> {
  const counts = await page.evaluate(async (b64) => {
    // Runs in the page; this project's TypeScript has no DOM lib, so the few DOM types used are declared here.
    type Img = { src: string; width: number; height: number; decode(): Promise<void> };
    type Ctx = { drawImage(image: Img, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    type Canvas = { width: number; height: number; getContext(kind: '2d'): Ctx | null };
    const dom = globalThis as unknown as { Image: new () => Img; document: { createElement(tag: 'canvas'): Canvas } };
    const img = new dom.Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = dom.document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const out: Record<string, number> = {};
    for (let i = 0; i < d.length; i += 4) {
      const k = `#${[d[i]!, d[i + 1]!, d[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }, png.toString('base64'));
  return Object.entries(counts).sort((a, b) => b[1] - a[1]);
}

/** Whether two #rrggbb colours are the same within anti-aliasing and colour-profile rounding. */
export const near = (hex: string, want: string) =>
  [1, 3, 5].every((i) => Math.abs(parseInt(hex.slice(i, i + 2), 16) - parseInt(want.slice(i, i + 2), 16)) <= 4);

/**
 * Takes a full-page screenshot and checks it by its pixels: a PNG, the dark header bar and the
 * page background drawn, with text (many anti-aliased shades), and each extra colour at least its
 * share of the pixels. Returns the colours for further checks. `decoder` decodes the PNG: a page
 * whose CSP allows data: images (the eval pages' does not).
 */
export async function checkedShot(
  page: Page,
  file: string,
  name: string,
  extra: Array<[string, string, number]> = [],
  decoder: Page = page,
): Promise<Array<[string, number]>> {
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE), `${name}: a PNG`).toBe(true);
  const all = await pngColours(decoder, png);
  const total = all.reduce((n, [, c]) => n + c, 0);
  const share = (want: string) => all.filter(([hex]) => near(hex, want)).reduce((n, [, c]) => n + c, 0) / total;
  // In pixels, not a share: a long full page makes the bar's share small (a phone's 390 x 50 bar is 19,500).
  const headerPixels = all.filter(([hex]) => near(hex, COLOURS.header)).reduce((n, [, c]) => n + c, 0);
  expect(headerPixels, `${name}: header bar`).toBeGreaterThan(10_000);
  expect(share(COLOURS.page), `${name}: page background`).toBeGreaterThan(0.05);
  expect(all.length, `${name}: distinct colours (text drawn)`).toBeGreaterThan(100);
  for (const [what, colour, min] of extra) expect(share(colour), `${name}: ${what} (${colour})`).toBeGreaterThan(min);
  return all;
}
