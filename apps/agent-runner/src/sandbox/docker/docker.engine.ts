import { PassThrough, type Readable, type Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import Docker from 'dockerode';

/** A started container with its main process's stdio attached. */
export interface AttachedContainer {
  id: string;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
}

export interface ContainerSummary {
  id: string;
  names: string[];
  labels: Record<string, string>;
  state: string;
}

function statusOf(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The Docker engine, through dockerode (DOCKER_HOST or /var/run/docker.sock). The one place that
 * talks to the engine, so the sandbox's logic reads as container operations.
 */
@Injectable()
export class DockerEngine {
  private readonly docker = new Docker();

  /** Whether an engine answers within `timeoutMs`. */
  async ping(timeoutMs = 3000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.docker.ping().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw e;
    }
  }

  /**
   * Creates the container, attaches to its stdio before it starts (so no output is lost), then
   * starts it. A container that fails to start is removed.
   */
  async createAttached(options: Docker.ContainerCreateOptions): Promise<AttachedContainer> {
    const container = await this.docker.createContainer(options);
    try {
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream & Writable & Readable;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      container.modem.demuxStream(stream, stdout, stderr);
      const endBoth = () => {
        stdout.end();
        stderr.end();
      };
      stream.once('end', endBoth);
      stream.once('close', endBoth);
      stream.once('error', (e: Error) => {
        stdout.destroy(e);
        stderr.destroy(e);
      });
      await container.start();
      return { id: container.id, stdin: stream, stdout, stderr };
    } catch (e) {
      await this.remove(container.id);
      throw e;
    }
  }

  /** SIGKILL to the container; a container already gone is fine. */
  async kill(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).kill();
    } catch (e) {
      const status = statusOf(e);
      if (status !== 404 && status !== 409) throw e;
    }
  }

  /** Force-removes the container; one already gone (or being removed by AutoRemove) is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (e) {
      const status = statusOf(e);
      if (status !== 404 && status !== 409) throw e;
    }
  }

  async rename(id: string, name: string): Promise<void> {
    await this.docker.getContainer(id).rename({ name });
  }

  /** Whether the container still exists (running or not). */
  async exists(id: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).inspect();
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw e;
    }
  }

  /** Whether the kernel's OOM killer hit the container (Docker records it when the container stops). */
  async oomKilled(id: string): Promise<boolean> {
    const info = await this.docker.getContainer(id).inspect();
    return info.State?.OOMKilled === true;
  }

  /** Containers, running or not, carrying every given label (`key=value` or `key`). */
  async list(labels: string[]): Promise<ContainerSummary[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: labels } });
    return found.map((c) => ({ id: c.Id, names: c.Names.map((n) => n.replace(/^\//, '')), labels: c.Labels ?? {}, state: c.State }));
  }
}

export { statusOf as dockerStatusOf };
