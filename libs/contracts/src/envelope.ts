import { IsInt, IsISO8601, IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, Min } from 'class-validator';

/** FR ids look like FR-054; other prefixes (BUG-12) are allowed so a vault can keep its own scheme. */
export const FR_ID_PATTERN = /^[A-Z][A-Z0-9]*-\d+$/;
/** Saga, job and step ids end up in KV keys and Nats-Msg-Id headers: keep them to a safe alphabet. */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

/**
 * Every message on the bus. Header fields are the same for all messages; `payload` is
 * validated against the class registered for the message's subject.
 */
export interface Envelope<P = unknown> {
  /** Unique per message (UUID); not the dedupe key, see messageDedupeId. */
  id: string;
  /** Message type, e.g. `router.score`. */
  type: string;
  version: number;
  frId: string;
  jobId?: string;
  sagaId: string;
  /** Pipeline step this message belongs to, e.g. `plan`, `code-r2`. */
  step: string;
  /** 1 for the first try of a step, incremented on each re-drive. */
  attempt: number;
  occurredAt: string;
  /** Id of the message that caused this one: the audit log can be read as a chain. */
  causationId?: string;
  payload: P;
}

export class EnvelopeHeaderDto {
  @IsUUID()
  id!: string;

  @IsString()
  @Matches(/^[a-z][a-z-]*\.[a-z][a-z-]*$/, { message: 'type must look like "<service>.<name>"' })
  type!: string;

  @IsInt()
  @Min(1)
  version!: number;

  @IsString()
  @Matches(FR_ID_PATTERN, { message: 'frId must look like FR-123' })
  frId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(SAFE_ID_PATTERN, { message: 'jobId may only contain letters, digits, "_", "." and "-"' })
  jobId?: string;

  @IsString()
  @MaxLength(128)
  @Matches(SAFE_ID_PATTERN, { message: 'sagaId may only contain letters, digits, "_", "." and "-"' })
  sagaId!: string;

  @IsString()
  @MaxLength(64)
  @Matches(SAFE_ID_PATTERN, { message: 'step may only contain letters, digits, "_", "." and "-"' })
  step!: string;

  @IsInt()
  @Min(1)
  attempt!: number;

  @IsISO8601({ strict: true })
  occurredAt!: string;

  @IsOptional()
  @IsUUID()
  causationId?: string;
}

/** Used only to validate that payload is an object before it is handed to its own class. */
export class EnvelopeShapeDto extends EnvelopeHeaderDto {
  @IsObject()
  payload!: Record<string, unknown>;
}

export const MESSAGE_KINDS = ['cmd', 'evt'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
