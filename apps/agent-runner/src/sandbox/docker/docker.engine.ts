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

  /** An image's labels; undefined when the engine has no such image. */
  async imageLabels(image: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.docker.getImage(image).inspect()).Config?.Labels ?? {};
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
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
  async createAttached(options: Docker.ContainerCreateOptions, beforeStart?: (id: string) => Promise<void>): Promise<AttachedContainer> {
    const container = await this.docker.createContainer(options);
    try {
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream &
        Writable &
        Readable;
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
      await beforeStart?.(container.id);
      await container.start();
      return { id: container.id, stdin: stream, stdout, stderr };
    } catch (e) {
      await this.remove(container.id);
      throw e;
    }
  }

  /**
   * Runs a container to its end and removes it: its exit code and its output (stdout and stderr,
   * the last 64 KB). Killed at `timeoutMs` (exit code 137).
   */
  async runToEnd(options: Docker.ContainerCreateOptions, timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const attached = await this.createAttached({ ...options, OpenStdin: false, AttachStdin: false });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString('utf8')).slice(-65_536));
    attached.stdout.on('data', keep);
    attached.stderr.on('data', keep);
    const timer = setTimeout(() => void this.kill(attached.id).catch(() => undefined), timeoutMs);
    try {
      const ended = (await this.docker.getContainer(attached.id).wait()) as { StatusCode: number };
      return { exitCode: ended.StatusCode, output };
    } finally {
      clearTimeout(timer);
      await this.remove(attached.id);
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

  /** The image's id (its content digest): a rebuilt image under the same tag has another. */
  async imageId(image: string): Promise<string> {
    return (await this.docker.getImage(image).inspect()).Id;
  }

  /**
   * Creates a bridge network; `internal`: only its members reach each other. An internal network
   * still routes to the host's own addresses through its bridge's IP (the INPUT chain, which
   * Docker's isolation rules do not cover): the bridge gets no IP (`inhibit_ipv4`), so nothing on
   * the host is reachable from it either.
   */
  async createNetwork(name: string, internal: boolean, labels: Record<string, string>): Promise<string> {
    const network = await this.docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: internal,
      Labels: labels,
      CheckDuplicate: true,
      ...(internal ? { Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' } } : {}),
    });
    return network.id;
  }

  /** Adds a container to a network, reachable there under `aliases`. */
  async connect(networkId: string, containerId: string, aliases: string[]): Promise<void> {
    await this.docker.getNetwork(networkId).connect({ Container: containerId, EndpointConfig: { Aliases: aliases } });
  }

  /** Removes a network; one already gone is fine. */
  async removeNetwork(id: string): Promise<void> {
    try {
      await this.docker.getNetwork(id).remove();
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }

  /** Networks carrying every given label. */
  async listNetworks(labels: string[]): Promise<Array<{ id: string; name: string }>> {
    const found = await this.docker.listNetworks({ filters: { label: labels } });
    return found.map((n) => ({ id: n.Id, name: n.Name }));
  }

  /** Containers, running or not, carrying every given label (`key=value` or `key`). */
  async list(labels: string[]): Promise<ContainerSummary[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: labels } });
    return found.map((c) => ({ id: c.Id, names: c.Names.map((n) => n.replace(/^\//, '')), labels: c.Labels ?? {}, state: c.State }));
  }
}

export { statusOf as dockerStatusOf };
