import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateNested } from 'class-validator';

/** An exact npm version (no ranges, no tags): a task's base must never move. */
export const NPM_SPEC = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** A path inside a task or suite folder: relative, no "..". */
const RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0\\]+$/;
const RELATIVE_MESSAGE = 'must be a path relative to the task folder, without ".."';

/** Where a task's repository comes from: exactly one of npm, bundle and path. */
export class RepoSourceSpec {
  /** `name@x.y.z` from the npm registry: its published files become the base commit. */
  @IsOptional()
  @IsString()
  @Matches(NPM_SPEC, { message: 'npm must be name@x.y.z (an exact version, e.g. ms@2.1.3)' })
  npm?: string;

  /** A git bundle in the task folder. */
  @IsOptional()
  @IsString()
  @Matches(RELATIVE, { message: `bundle ${RELATIVE_MESSAGE}` })
  bundle?: string;

  /** A local folder (a git repository or plain files), relative to the task folder or absolute. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  path?: string;

  /** For bundle and git paths: the commit, tag or branch that is the base (default HEAD). */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { message: 'ref must be a commit, tag or branch name' })
  ref?: string;
}

export class HiddenTestsSpec {
  /** A folder in the task folder whose files are copied over the PR branch's tree (default `hidden`). */
  @IsString()
  @Matches(RELATIVE, { message: `files ${RELATIVE_MESSAGE}` })
  files: string = 'hidden';

  /** Runs the hidden tests; exit code 0 means resolved. */
  @IsString()
  @MinLength(1)
  command!: string;
}

export class TaskSpec {
  @IsString()
  @MinLength(1)
  title!: string;

  @IsOptional()
  @IsIn(['feature', 'fix'])
  kind?: 'feature' | 'fix';

  @ValidateNested()
  @Type(() => RepoSourceSpec)
  repo!: RepoSourceSpec;

  /**
   * Installs what the tests need, in the agency's sandbox (repos.<name>.setup) and, with a network
   * and the registry only, before the hidden tests (at the base commit, never the agent's manifest).
   */
  @IsOptional()
  @IsString()
  setup?: string;

  /** The repository's own test command (the agency's test step). */
  @IsString()
  @MinLength(1)
  test!: string;

  @ValidateNested()
  @Type(() => HiddenTestsSpec)
  hidden_tests!: HiddenTestsSpec;

  /** The FR as a user writes it (markdown; front matter, if any, is replaced). */
  @IsString()
  @Matches(RELATIVE, { message: `fr ${RELATIVE_MESSAGE}` })
  fr: string = 'fr.md';

  /** The reference solution, a unified diff against the base: the oracle's answer. */
  @IsString()
  @Matches(RELATIVE, { message: `reference ${RELATIVE_MESSAGE}` })
  reference: string = 'solution.patch';

  /** How long the hidden tests may run. */
  @IsInt()
  @Min(10)
  @Max(3600)
  timeout_seconds: number = 300;
}

export class SuiteManifest {
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]*$/, { message: 'name must be lower-case letters, digits and "-"' })
  name!: string;

  @IsOptional()
  @IsString()
  description?: string;

  /** Task folders, in order; absent: every folder holding a task.yaml, sorted. */
  @IsOptional()
  @IsArray()
  @Matches(/^[a-z0-9][a-z0-9._-]*$/, { each: true, message: 'tasks must be folder names (lower-case letters, digits, ".", "_", "-")' })
  tasks?: string[];
}
