import { IsString, MinLength } from 'class-validator';
import { ServiceConfig } from '@agency/config';

export class RouterConfig extends ServiceConfig {
  override HTTP_PORT = 7101;

  /** The vault whose 40_config/agency.yaml defines the tiers. */
  @IsString()
  @MinLength(1)
  VAULT_PATH!: string;
}
