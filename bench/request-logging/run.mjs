#!/usr/bin/env node
// What a request line costs: one small JSON endpoint, served as every service serves HTTP (Nest on
// Fastify, the HTTP span interceptor, the service's pino logger writing to a file), in three
// variants, each in a process of its own:
//   plain    Nest's logs through the service's pino, no nestjs-pino module (how services logged before);
//   off      nestjs-pino's LoggerModule without request logging (runService's `requestLogging: false`);
//   lines    pino-http with a line per request (what runService does unless a service opts out).
// The figure is the server's CPU time per request (process.cpuUsage around a fixed number of
// requests from autocannon at 32 connections): unlike throughput or latency, it hardly moves when
// other work shares the machine. Throughput is printed too, for what it is worth on a busy
// machine. Interleaved A B C C B A per round, so a machine that gets busier or quieter during the
// run affects all alike.
//
// Run from the repository root, after `node tools/build.mjs`, with Node 24:
//   export PATH=$PWD/node_modules/.bin:$PATH
//   node bench/request-logging/run.mjs [--rounds 3] [--requests 20000]
// It is not part of the test suite.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

const root = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const VARIANTS = ['plain', 'off', 'lines'];

async function serve(variant, port, logFile) {
  const lib = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { Controller, Get, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const { pino } = await import('pino');
  const { Logger } = await import('nestjs-pino');
  const { createLogger } = await lib('libs/telemetry/src/logger.js');
  const { HttpSpanInterceptor } = await lib('libs/bootstrap/src/http-span.interceptor.js');
  const { serviceLogging } = await lib('libs/bootstrap/src/service-logging.js');

  const logger = createLogger({ service: 'bench', destination: pino.destination({ dest: logFile, sync: false }) });
  const logging = serviceLogging(logger, { requests: variant === 'lines' });
  class EchoController {
    echo() {
      return { ok: true, at: Date.now() };
    }
  }
  Controller()(EchoController);
  Get('echo')(EchoController.prototype, 'echo', Object.getOwnPropertyDescriptor(EchoController.prototype, 'echo'));
  class RootModule {}
  Module({ imports: variant === 'plain' ? [] : [logging.module], controllers: [EchoController] })(RootModule);
  const app = await NestFactory.create(RootModule, new FastifyAdapter(), { logger: logging.nestLogger });
  if (variant !== 'plain') app.useLogger(app.get(Logger));
  app.useGlobalInterceptors(new HttpSpanInterceptor());
  await app.listen(port, '127.0.0.1');
  process.on('message', () => process.send(process.cpuUsage()));
  process.send('ready');
}

/** The server's CPU time so far, in microseconds (user + system). */
function cpuOf(child) {
  return new Promise((res) => {
    child.once('message', (u) => res(u.user + u.system));
    child.send('cpu');
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const cannon = (url, amount) => new Promise((res, rej) => autocannon({ url, connections: 32, amount }, (e, r) => (e ? rej(e) : res(r))));

async function main() {
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
  const requests = args.includes('--requests') ? Number(args[args.indexOf('--requests') + 1]) : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'request-logging-bench-'));
  const servers = {};
  for (const variant of VARIANTS) {
    const port = await freePort();
    const child = spawn(process.execPath, [import.meta.filename, 'serve', variant, String(port), join(dir, `${variant}.log`)], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise((ok, fail) => (child.once('message', ok), child.once('exit', (c) => fail(new Error(`${variant} exited ${c}`)))));
    servers[variant] = { child, url: `http://127.0.0.1:${port}/echo`, rps: [], cpuUs: [] };
  }
  try {
    for (const s of Object.values(servers)) await cannon(s.url, 5000); // warm-up (JIT)
    const load = [];
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of [...VARIANTS, ...[...VARIANTS].reverse()]) {
        const s = servers[variant];
        const before = await cpuOf(s.child);
        const result = await cannon(s.url, requests);
        s.cpuUs.push((await cpuOf(s.child)) - before);
        s.rps.push(result.requests.total / result.duration);
        load.push(loadavg()[0]);
      }
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const per = (s) => mean(s.cpuUs) / requests;
    console.log(
      `Node ${process.version}, ${cpus().length} CPUs, 1-minute load average ${mean(load).toFixed(2)}; ${rounds} rounds, ${requests} requests a phase`,
    );
    console.log('| variant | server CPU per request | added vs plain | req/s at 32 connections |');
    console.log('|---|---|---|---|');
    for (const variant of VARIANTS) {
      const s = servers[variant];
      const added = per(s) - per(servers.plain);
      console.log(
        `| ${variant} | ${per(s).toFixed(1)} µs | ${added >= 0 ? '+' : ''}${added.toFixed(1)} µs (${((added / per(servers.plain)) * 100).toFixed(0)} %) | ${mean(s.rps).toFixed(0)} |`,
      );
    }
  } finally {
    for (const s of Object.values(servers)) s.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args[0] === 'serve') await serve(args[1], Number(args[2]), args[3]);
else await main();
