/** Real servers on 127.0.0.1 for the meter tests: a raw-register Modbus TCP server and a silent TCP server. */
import net from 'node:net';
import { ServerTCP } from 'modbus-serial';

export interface Closable { port: number; close(): Promise<void> }

/** A free port on 127.0.0.1 (ServerTCP cannot listen on port 0 itself: it treats 0 as 502). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address() as net.AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}

/** A Modbus TCP server answering input-register reads of [start, start + words.length) with fixed words. */
export async function rawRegisterServer(start: number, words: number[]): Promise<Closable> {
  const port = await freePort();
  const server = new ServerTCP(
    {
      getMultipleInputRegisters(addr: number, length: number): number[] {
        if (addr < start || addr + length > start + words.length) throw { modbusErrorCode: 2 };
        return words.slice(addr - start, addr - start + length);
      },
      getInputRegister(addr: number): number {
        const w = words[addr - start];
        if (w === undefined) throw { modbusErrorCode: 2 };
        return w;
      },
    },
    { host: '127.0.0.1', port },
  );
  server.on('socketError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });
  return { port, close: async () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A TCP server that accepts connections and never answers. */
export async function silentServer(): Promise<Closable> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Splits a 32-bit value into [hi, lo] words (two's complement for negatives). */
export function words32(value: number): [number, number] {
  const u = value < 0 ? value + 2 ** 32 : value;
  return [Math.floor(u / 65536), u % 65536];
}
