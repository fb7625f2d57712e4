import { Injectable } from '@nestjs/common';

/** The process environment behind a class, so vendor keys can be given to providers in tests. */
@Injectable()
export class Environment {
  constructor(private readonly vars: NodeJS.ProcessEnv = process.env) {}

  get(name: string): string | undefined {
    const value = this.vars[name];
    return value === undefined || value === '' ? undefined : value;
  }
}
