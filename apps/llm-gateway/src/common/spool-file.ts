import { Inject, Injectable } from '@nestjs/common';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AgencyPinoLogger } from '@agency/telemetry';
import { LlmGatewayConfig } from '../llm-gateway.config.js';

/**
 * A JSON file holding what the gateway owes the bus (spend not yet in the budget bucket), so a
 * restart picks it up. Written whole to a temporary file and renamed, so a crash mid-write leaves
 * the previous version.
 */
export class SpoolFile<T> {
  constructor(readonly path: string) {}

  async load(): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** load(), with a file that cannot be read logged (as `what`) and taken as none. */
  async loadOrLog(logger: AgencyPinoLogger, what: string): Promise<T | undefined> {
    try {
      return await this.load();
    } catch (e) {
      logger.error({ err: e, file: this.path }, `${what} could not be read`);
      return undefined;
    }
  }

  async save(value: T): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(value));
    await rename(temporary, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** The gateway's spool files, in WORK_DIR; none when it is unset. */
@Injectable()
export class SpoolFiles {
  constructor(@Inject(LlmGatewayConfig) private readonly config: Pick<LlmGatewayConfig, 'WORK_DIR'>) {}

  file<T>(name: string): SpoolFile<T> | undefined {
    return this.config.WORK_DIR ? new SpoolFile<T>(join(this.config.WORK_DIR, name)) : undefined;
  }
}
