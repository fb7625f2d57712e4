import { Injectable } from '@nestjs/common';
import { KeyedMutex as SharedKeyedMutex } from '@agency/git';

/** One lock per repository mirror, injectable; one runner owns its WORK_DIR. */
@Injectable()
export class KeyedMutex extends SharedKeyedMutex {}
