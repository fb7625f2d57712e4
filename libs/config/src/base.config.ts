import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Variables every service reads. Each app declares its own schema class extending this one,
 * so one validated object describes the whole configuration of that app.
 */
export class ServiceConfig {
  @IsString()
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'NATS_URL must be one or more nats://host:port URLs separated by commas' })
  NATS_URL: string = 'nats://127.0.0.1:4222';

  @Type(() => Number)
  @IsInt({ message: 'HTTP_PORT must be an integer' })
  @Min(0)
  @Max(65535)
  HTTP_PORT: number = 0;

  @IsString()
  HTTP_HOST: string = '0.0.0.0';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** Name of this replica; defaults to host and pid. Used in consumer and lease names. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'INSTANCE_ID may only contain letters, digits, "_" and "-"' })
  INSTANCE_ID?: string;

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
}
