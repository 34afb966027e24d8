/**
 * Direct I/O (Linux `O_DIRECT`) for the MiB blocks of big local artifacts: the bytes go between
 * the process's buffer and the disk without a copy in the page cache.
 *
 * Why: a bundle written through the page cache is copied once more by the kernel, into pages it
 * must first find, zero and account for (on a virtual machine, pages the host may have to back
 * first), and those pages are then held as cache nobody asked for. Measured on the benchmark's
 * machine, 300 MiB written and fsynced cost 0.08–0.15 CPU-s of the kernel buffered and 0.03
 * direct; read back cold, 0.46 CPU-s buffered and 0.02 direct. And verification after a backup
 * that reads the bundle back directly reads what the disk holds, not the copy the kernel kept.
 *
 * Direct I/O wants the buffer, the file offset and the length aligned to the device's logical
 * block (512 bytes or 4 KiB): the blocks here are whole MiB at MiB offsets, from page-aligned
 * buffers, and a file's last part (less than a MiB) goes through an ordinary descriptor. Where a
 * file system or a platform refuses direct I/O (no `O_DIRECT`, `EINVAL` on open or on the first
 * transfer: tmpfs before Linux 6.6, some FUSE and network shares), the caller uses its ordinary
 * descriptor and stops trying for that storage.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** The unit of direct transfers: a multiple of every logical block size there is. */
export const DIRECT_BLOCK_BYTES = 1024 * 1024;

const O_DIRECT: number | undefined = (constants as Record<string, number | undefined>).O_DIRECT;

/** Errors meaning "this file, file system or buffer cannot do direct I/O". */
const NO_DIRECT = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP']);

const refusesDirectIo = (error: unknown): boolean =>
  NO_DIRECT.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');

/**
 * A file's second descriptor, for direct transfers of whole blocks. The first transfer the file
 * system refuses (EINVAL, ENOTSUP) closes it and calls `onRefused` (the storage stops trying), and
 * that transfer and every later one go the ordinary way: `attempt` then answers null.
 */
export class DirectFile {
  private constructor(
    private handle: FileHandle | null,
    private readonly onRefused: () => void,
  ) {}

  /**
   * `file` opened again for direct reads, writes or both (`'r'`, `'w'`, `'rw'`, never creating
   * it), unless `wanted` is false or this platform or file system has no direct I/O.
   */
  static async open(file: string, mode: 'r' | 'w' | 'rw', wanted: boolean, onRefused: () => void): Promise<DirectFile> {
    if (!wanted || O_DIRECT === undefined) return new DirectFile(null, onRefused);
    const access = { r: constants.O_RDONLY, w: constants.O_WRONLY, rw: constants.O_RDWR }[mode];
    try {
      return new DirectFile(await open(file, access | O_DIRECT), onRefused);
    } catch (error) {
      if (refusesDirectIo(error)) return new DirectFile(null, onRefused);
      throw error;
    }
  }

  /** `transfer` on the direct descriptor: its result, or null when there is none (any more). */
  async attempt<T>(transfer: (handle: FileHandle) => Promise<T>): Promise<{ result: T } | null> {
    if (!this.handle) return null;
    try {
      return { result: await transfer(this.handle) };
    } catch (error) {
      if (!refusesDirectIo(error)) throw error;
      this.onRefused();
      await this.close();
      return null;
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
  }
}

/**
 * A MiB buffer at a page-aligned address, as direct I/O needs. Node's own buffers come from
 * malloc, which aligns to 16 bytes; a WebAssembly memory's bytes are mapped pages of their own.
 * Where no WebAssembly memory can be had (a process limited in address space: V8 reserves guard
 * pages around each), an ordinary buffer: a direct transfer from it fails with EINVAL, and the
 * caller then uses ordinary I/O.
 */
export function alignedBlock(): Buffer {
  const pages = DIRECT_BLOCK_BYTES / 65536;
  try {
    return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
  } catch {
    return Buffer.allocUnsafeSlow(DIRECT_BLOCK_BYTES);
  }
}
