/** Which sandbox `agency up` gives the agent-runner, and why. */
export interface SandboxChoice {
  sandbox: 'docker' | 'process';
  why: string;
}

/**
 * What `agency up` prints about the sandbox: which one, why, and for host processes, in capitals,
 * what that means and whether the runner will accept the vault's models at all (it refuses a
 * model that is not scripted unless SANDBOX_PROCESS_UNSAFE=allow).
 */
export function sandboxNotice(choice: SandboxChoice, nonScripted: readonly string[], unsafeAllowed: boolean): string[] {
  if (choice.sandbox === 'docker') return [`sandbox    Docker containers (${choice.why})`];
  const lines = [
    `sandbox    HOST PROCESSES (${choice.why})`,
    'WARNING    agent commands run on this machine, not in containers: in namespaces of their own where the',
    '           host allows it (no network, own /tmp and /proc, the work dir hidden but for the job), else as plain',
    '           processes; build the sandbox image (scripts/docker/build-images.sh) for containers',
  ];
  if (nonScripted.length === 0) lines.push('           every model the agents use is scripted (offline): host processes are accepted');
  else if (unsafeAllowed) lines.push(`WARNING    SANDBOX_PROCESS_UNSAFE=allow: live models write these commands: ${nonScripted.join('; ')}`);
  else
    lines.push(
      `ERROR      the agent-runner will refuse to start: these models are not scripted: ${nonScripted.join('; ')}; use Docker, or set SANDBOX_PROCESS_UNSAFE=allow`,
    );
  return lines;
}

/** Where the gateway's providers are configured (the `llm:` section of agency.yaml). */
export const PROVIDER_SETTINGS = 'apps/llm-gateway/README.md#the-llm-section-of-agencyyaml';

/**
 * What `agency up` says about the models: with every one scripted, that the answers are replayed
 * (FR-001's are real code; an FR of a person's own gets a placeholder note) and where real
 * providers are configured; otherwise which live models the agents use.
 */
export function modelNotice(nonScripted: readonly string[]): string[] {
  if (nonScripted.length > 0) return [`models     live: ${nonScripted.join('; ')}`];
  return [
    'models     SCRIPTED: every answer is replayed from 40_config/llm-script.yaml (offline, no key). The example',
    "           FR-001 gets real code; an FR of your own gets the catch-all answer (the example script's: a",
    '           placeholder note docs/<FR>.md), not real work.',
    `           Real models: the llm: section of 40_config/agency.yaml and a provider key (${PROVIDER_SETTINGS})`,
  ];
}
