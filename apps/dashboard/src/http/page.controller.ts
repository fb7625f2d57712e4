import { Controller, Get, Header, NotFoundException, Param } from '@nestjs/common';
import { BrowserAssets, type BrowserModule } from './browser-assets.js';
import { PAGE_HTML } from '../ui/page.html.js';
import { STYLES_CSS } from '../ui/styles.css.js';

// Same-origin only: no inline script, no third-party anything, never framed.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page, its stylesheet and its browser modules (compiled into dist/ with the app). */
@Controller()
export class PageController {
  private readonly assets = new BrowserAssets();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return PAGE_HTML;
  }

  /** The page's browser modules (src/browser, compiled): main.js and what it imports. */
  @Get('assets/app/:file')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  async module(@Param('file') file: string): Promise<string> {
    return served(await this.assets.module(file), file);
  }

  /** The contracts' browser entry (@agency/contracts/browser) and the modules it imports: the page's types and saga rules. */
  @Get('assets/contracts/:file')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  async contractsModule(@Param('file') file: string): Promise<string> {
    return served(await this.assets.contractsModule(file), file);
  }

  @Get('assets/dashboard.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  css(): string {
    return STYLES_CSS;
  }
}

/** The module's code; a module a browser cannot load is not one the dashboard has, and says why. */
function served(m: BrowserModule, file: string): string {
  if ('code' in m) return m.code;
  throw new NotFoundException('refused' in m ? `not a browser module: ${m.refused}` : `no browser module ${file}`);
}
