import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';

/** Variables of every service whose values are never printed, even when invalid. */
export const BASE_SECRETS = ['NATS_PASSWORD'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Variables every service reads. Each app declares its own schema class extending this one,
 * so one validated object describes the whole configuration of that app.
 */
export class ServiceConfig {
  @IsString()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, {
    message: 'NATS_URL must be one or more nats://host:port URLs separated by commas',
  })
  NATS_URL: string = 'nats://127.0.0.1:4222';

  @Type(() => Number)
  @IsInt({ message: 'HTTP_PORT must be an integer' })
  @Min(0)
  @Max(65535)
  HTTP_PORT: number = 0;

  /** The service's NATS user; unset for a server without authentication (a developer's own NATS). */
  @ValidateIf((c: ServiceConfig) => c.NATS_USER !== undefined || c.NATS_PASSWORD !== undefined)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'NATS_USER must be set whenever NATS_PASSWORD is, to a name of letters, digits, "_" and "-"' })
  NATS_USER?: string;

  /** NATS_USER's password (a secret: never printed). */
  @ValidateIf((c: ServiceConfig) => c.NATS_USER !== undefined || c.NATS_PASSWORD !== undefined)
  @IsString({ message: 'NATS_PASSWORD must be set when NATS_USER is' })
  NATS_PASSWORD?: string;

  @IsString()
  HTTP_HOST: string = '0.0.0.0';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** Name of this replica; defaults to host and pid. Used in consumer and lease names. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'INSTANCE_ID may only contain letters, digits, "_" and "-"' })
  INSTANCE_ID?: string;

  /**
   * The local stack that started this process (agency up, the e2e tests), reported on /health so
   * the stack knows it reached its own process and not another one on the same port.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'STACK_ID may only contain letters, digits, "_" and "-"' })
  STACK_ID?: string;

  /** How many messages this replica handles at once per consumer. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  BUS_CONCURRENCY: number = 4;

  /** Deliveries before a failing message goes to the dead-letter stream. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  BUS_MAX_DELIVER: number = 5;

  /** Seconds JetStream waits for an ack before redelivering; handlers heartbeat within it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  BUS_ACK_WAIT_SECONDS: number = 30;

  /** Seconds NATS may be unreachable before /health/ready answers 503; shorter losses are blips. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  BUS_UNREADY_AFTER_SECONDS: number = 15;
}
