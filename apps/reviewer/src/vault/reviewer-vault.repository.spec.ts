import { parse } from 'yaml';
import { parseReviewSection, ReviewSettingsError } from './reviewer-vault.repository.js';

const FILE = '40_config/agency.yaml';

describe('parseReviewSection', () => {
  it('reads forbidden_paths', () => {
    const doc = parse('repos: {}\nreview:\n  forbidden_paths: ["infra/**", " *.pem "]\n');
    expect(parseReviewSection(doc, FILE)).toEqual({ forbiddenPaths: ['infra/**', '*.pem'], source: `${FILE} review section` });
  });

  it('is empty without a review section', () => {
    expect(parseReviewSection(parse('repos: {}\n'), FILE)).toEqual({ forbiddenPaths: [], source: `${FILE} (no review section)` });
    expect(parseReviewSection(parse('review:\n'), FILE).forbiddenPaths).toEqual([]);
  });

  it('names every problem with its path', () => {
    const doc = parse('review:\n  forbiden_paths: [a]\n  forbidden_paths: ["ok", 3, ""]\n');
    expect(() => parseReviewSection(doc, FILE)).toThrow(ReviewSettingsError);
    expect(() => parseReviewSection(doc, FILE)).toThrow(
      `${FILE}: review.forbiden_paths: unknown key (known: forbidden_paths); review.forbidden_paths[1]: must be a non-empty glob string; review.forbidden_paths[2]: must be a non-empty glob string`,
    );
    expect(() => parseReviewSection(parse('review: [a]\n'), FILE)).toThrow('review: must be a mapping');
    expect(() => parseReviewSection(parse('review:\n  forbidden_paths: infra\n'), FILE)).toThrow('review.forbidden_paths: must be a list of glob patterns');
  });
});
