import { modelNotice, sandboxNotice } from './sandbox-notice.js';

describe('sandboxNotice', () => {
  it('names Docker and why', () => {
    expect(sandboxNotice({ sandbox: 'docker', why: 'agency/sandbox:latest is built' }, ['x'], false)).toEqual([
      'sandbox    Docker containers (agency/sandbox:latest is built)',
    ]);
  });

  it('says loudly that host processes are used, and whether the runner accepts the models', () => {
    const scripted = sandboxNotice({ sandbox: 'process', why: 'no Docker engine answers' }, [], false);
    expect(scripted[0]).toBe('sandbox    HOST PROCESSES (no Docker engine answers)');
    expect(scripted[1]).toMatch(/^WARNING {4}agent commands run on this machine/);
    expect(scripted.at(-1)).toContain('every model the agents use is scripted');
    expect(sandboxNotice({ sandbox: 'process', why: 'SANDBOX=process is set' }, ['coder (openai; 20_agents/coder.md and 4 more)'], false).at(-1)).toBe(
      'ERROR      the agent-runner will refuse to start: these models are not scripted: coder (openai; 20_agents/coder.md and 4 more); use Docker, or set SANDBOX_PROCESS_UNSAFE=allow',
    );
    expect(sandboxNotice({ sandbox: 'process', why: 'SANDBOX=process is set' }, ['coder (openai; 20_agents/coder.md and 4 more)'], true).at(-1)).toMatch(
      /^WARNING {4}SANDBOX_PROCESS_UNSAFE=allow: live models/,
    );
  });
});

describe('modelNotice', () => {
  it('says plainly that scripted models replay answers, and where real providers are configured', () => {
    const lines = modelNotice([]);
    expect(lines[0]).toMatch(/^models {5}SCRIPTED: every answer is replayed from 40_config\/llm-script.yaml/);
    expect(lines.join('\n')).toContain('placeholder note');
    expect(lines.at(-1)).toContain('apps/llm-gateway/README.md#the-llm-section-of-agencyyaml');
  });

  it('names the live models when there are any', () => {
    expect(modelNotice(['coder (openai; 20_agents/coder.md and 4 more)'])).toEqual(['models     live: coder (openai; 20_agents/coder.md and 4 more)']);
  });
});
