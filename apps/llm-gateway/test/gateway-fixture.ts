import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A vault with only what the gateway reads: agency.yaml (with an llm section) and a script. */
export const TEST_SCRIPT = `version: 1
rules:
  - match: { model: planner, fr: FR-101 }
    reply:
      content: '{"summary": "plan for {{frId}}", "steps": []}'
  - match: { model: coder, fr: FR-102 }
    replies:
      - content: 'Sure! Here is the change you asked for.'
      - content: '{"fixed": true, "fr": "{{frId}}"}'
  - match: { model: coder, contains: "fix the bug" }
    reply:
      content: 'bug fixed for {{frId}}'
  - match: { model: planner }
    reply:
      content: 'generic plan for {{frId}}'
  - match: { model: coder }
    reply:
      tool_calls:
        - name: read_file
          arguments: { path: "docs/{{frId}}.md" }
`;

export function agencyYaml(llm: string): string {
  return `repos:
  example/greeter:
    forge: local
    url: /nowhere/greeter.git
    test: npm test
tiers:
  - name: small
    max_score: 100
    models: { planner: planner, coder: coder, reviewer: reviewer }
${llm}`;
}

export const TEST_LLM = `llm:
  providers:
    scripted:
      type: scripted
      script: llm-script.yaml
  models:
    planner: [scripted/planner]
    coder: [scripted/coder]
    reviewer: [scripted/reviewer]
  prices:
    scripted/planner: { input_per_mtok: 3.0, output_per_mtok: 15.0 }
    scripted/coder: { input_per_mtok: 3.0, output_per_mtok: 15.0, cached_input_per_mtok: 0.3 }
    scripted/reviewer: { input_per_mtok: 1.0, output_per_mtok: 5.0 }
`;

export function writeVault(root: string, llm = TEST_LLM, script = TEST_SCRIPT): void {
  mkdirSync(join(root, '40_config'), { recursive: true });
  writeFileSync(join(root, '40_config', 'agency.yaml'), agencyYaml(llm));
  writeFileSync(join(root, '40_config', 'llm-script.yaml'), script);
}
