import { cliProgram } from './cli.program.js';

await cliProgram().parseAsync();
