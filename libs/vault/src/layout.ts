/** The vault's folders; every service resolves paths through these names. */
export const FR_FOLDERS = {
  ideas: '10_features/01_ideas',
  specified: '10_features/02_specified',
  planned: '10_features/03_planned',
  inProgress: '10_features/04_in_progress',
  inReview: '10_features/05_in_review',
  done: '10_features/06_done',
  blocked: '10_features/09_blocked',
} as const;
export type FrFolder = keyof typeof FR_FOLDERS;

/** The `status` written into an FR's front matter when it lands in each folder. */
export const FOLDER_STATUS: Record<FrFolder, string> = {
  ideas: 'idea',
  specified: 'specified',
  planned: 'planned',
  inProgress: 'in_progress',
  inReview: 'in_review',
  done: 'done',
  blocked: 'blocked',
};

export const AGENTS_DIR = '20_agents';
export const REVIEW_RULES_DIR = '30_review_rules';
export const CONFIG_FILE = '40_config/agency.yaml';
