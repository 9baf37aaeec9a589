import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, uniqueJetStream } from './natsTesting';
import { sleep } from './fixtures';
import { freePort } from './privateNatsServer';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** A TCP pipe that hands each chunk on `delayMs` after it came, in order. */
async function delayingPipe(targetPort: number, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const relay = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        setTimeout(() => to.write(chunk), delayMs);
      });
    };
    relay(client, upstream);
    relay(upstream, client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export interface SlowLinkNatsCluster {
  /** Where clients connect: the server without the stream. */
  nearUrl: string;
  /** A stream's placement that puts it on the far server. */
  farPlacement: { cluster: string; tags: string[] };
  close(): Promise<void>;
}

/**
 * Two nats-servers with JetStream in one cluster, the route between them
 * through pipes that delay every byte by `delayMs` each way (each server
 * advertises its pipe, so neither finds a direct way). A stream placed on the
 * far server answers a client of the near one a round trip later than a
 * subscriber on the near server can.
 */
export async function startSlowLinkNatsCluster(delayMs: number): Promise<SlowLinkNatsCluster> {
  const directory = await mkdtemp(path.join(tmpdir(), 'nats-cluster-'));
  const names = ['near', 'far'] as const;
  const clientPorts = [await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort()];
  const pipes = await Promise.all(routePorts.map((port) => delayingPipe(port, delayMs)));
  const servers: ChildProcess[] = [];
  for (const [index, name] of names.entries()) {
    const other = pipes[1 - index];
    const config = path.join(directory, `${name}.conf`);
    await writeFile(
      config,
      [
        `server_name: ${name}`,
        `server_tags: ["${name}"]`,
        `listen: 127.0.0.1:${clientPorts[index]}`,
        `jetstream { store_dir: "${path.join(directory, name)}" }`,
        `cluster { name: slow_link, listen: 127.0.0.1:${routePorts[index]}, advertise: "127.0.0.1:${pipes[index]?.port}", routes: ["nats-route://127.0.0.1:${other?.port}"] }`,
      ].join('\n'),
    );
    servers.push(spawn(NATS_SERVER, ['-c', config], { stdio: 'ignore' }));
  }
  const close = async () => {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (server.exitCode !== null || server.signalCode !== null) {
              resolve();
              return;
            }
            server.once('exit', () => {
              resolve();
            });
            server.kill('SIGKILL');
          }),
      ),
    );
    await Promise.all(pipes.map((pipe) => pipe.close()));
    await rm(directory, { recursive: true, force: true });
  };
  const nearUrl = `nats://127.0.0.1:${clientPorts[0]}`;
  const farPlacement = { cluster: 'slow_link', tags: ['far'] };
  try {
    await untilFarServerTakesStreams(nearUrl, farPlacement);
  } catch (error) {
    await close();
    throw error;
  }
  return { nearUrl, farPlacement, close };
}

/**
 * Waits until a stream can be placed on the far server. Until the cluster has
 * elected its JetStream leader every API request fails; until the leader has
 * heard from the far server, a placement there fails "peer offline".
 */
async function untilFarServerTakesStreams(url: string, placement: { cluster: string; tags: string[] }): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    try {
      const nc = await connectNats({ servers: url });
      try {
        const manager = await jetstreamManager(nc);
        const probe = uniqueJetStream();
        await manager.streams.add({ name: probe.name, subjects: [`${probe.prefix}.>`], placement });
        await manager.streams.delete(probe.name);
        return;
      } finally {
        await nc.close();
      }
    } catch (error) {
      if (Date.now() > giveUpAt) throw error;
      await sleep(250);
    }
  }
}
