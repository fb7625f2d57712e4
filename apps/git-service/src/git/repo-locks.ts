import { Injectable } from '@nestjs/common';
import { KeyedMutex } from '@agency/git';

/**
 * One writer at a time per repository in this process: the mirror's refs and worktrees, the
 * forge branch and the PR records are read and then written, and two deliveries of the same
 * command (redelivery during a slow push) must not both see "no PR yet".
 */
@Injectable()
export class RepoLocks extends KeyedMutex {}
