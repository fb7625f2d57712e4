import { Controller, Get, Header } from '@nestjs/common';
import { clientScript } from '../ui/client-script.js';
import { PAGE_HTML } from '../ui/page.html.js';
import { STYLES_CSS } from '../ui/styles.css.js';

// Same-origin only: no inline script, no third-party anything, never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page and its two assets, all built into the app (no static file directory to ship). */
@Controller()
export class PageController {
  private readonly script = clientScript();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return PAGE_HTML;
  }

  @Get('assets/dashboard.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  js(): string {
    return this.script;
  }

  @Get('assets/dashboard.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  css(): string {
    return STYLES_CSS;
  }
}
