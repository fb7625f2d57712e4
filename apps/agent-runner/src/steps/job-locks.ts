import { Injectable } from '@nestjs/common';
import { KeyedMutex } from '@agency/git';

/** One step of a job at a time in this runner (a re-driven attempt waits for the one running). */
@Injectable()
export class JobLocks extends KeyedMutex {}
