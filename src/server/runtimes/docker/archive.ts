/** Validation of uploaded Docker image archives (`docker save` format) before they reach the engine. */
import { extract, pack } from 'tar-stream';
import { invalidArtifact } from '../../host/errors.js';

export interface ImageManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Reads a `docker save` archive's manifest.json (streaming through the tar); 422 when it is not such a tar. */
export async function readImageManifest(archive: NodeJS.ReadableStream): Promise<ImageManifestEntry[]> {
  // A tar's header checksum field makes garbage fail fast; tar-stream rejects it as "Invalid tar header".
  const ex = extract();
  let manifest: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (entryName(header.name) === 'manifest.json') chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (entryName(header.name) === 'manifest.json') manifest = Buffer.concat(chunks);
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  archive.on('error', (error: Error) => ex.destroy(error));
  archive.pipe(ex as unknown as NodeJS.WritableStream);
  try {
    await done;
  } catch (error) {
    throw invalidArtifact(`not an image archive (docker save format): ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!manifest) throw invalidArtifact('image archive has no manifest.json; create it with `docker save IMAGE -o image.tar`');
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest.toString('utf8'));
  } catch {
    throw invalidArtifact('image archive manifest.json is not JSON');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 1 ||
    typeof (parsed[0] as { Config?: unknown }).Config !== 'string'
  ) {
    throw invalidArtifact('image archive must hold exactly one image (manifest.json with one entry with a Config)');
  }
  return parsed as ImageManifestEntry[];
}

/** OCI index.json annotations through which newer engines (containerd image store) name what they load. */
const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

/** A tar entry's name without a leading `./`. */
function entryName(name: string): string {
  return name.replace(/^\.\//, '');
}

/**
 * `archive` as the engine may load it: every name it claims replaced by `tag` — manifest.json's
 * RepoTags set to `[tag]`, the legacy `repositories` file dropped, index.json's name annotations
 * removed — so an upload can never re-tag an image the engine already holds (`busybox:latest`,
 * another function's `nebula-fn-…`). Streams: only those small JSON files are held in memory.
 */
export function retagArchive(archive: NodeJS.ReadableStream, tag: string): NodeJS.ReadableStream {
  const ex = extract();
  const out = pack();
  ex.on('entry', (header, stream, next) => {
    const name = entryName(header.name);
    if (name === 'repositories') {
      stream.on('end', next);
      stream.resume();
      return;
    }
    if (name !== 'manifest.json' && name !== 'index.json') {
      stream.pipe(out.entry(header, next));
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      try {
        const body = rewriteNames(name, Buffer.concat(chunks), tag);
        out.entry({ ...header, size: body.length }, body, next);
      } catch (error) {
        next(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
  ex.on('finish', () => out.finalize());
  ex.on('error', (error) => out.destroy(error));
  archive.on('error', (error: Error) => ex.destroy(error));
  archive.pipe(ex as unknown as NodeJS.WritableStream);
  // tar-stream's streams are streamx streams: readable like Node's, typed apart.
  return out as unknown as NodeJS.ReadableStream;
}

function rewriteNames(name: 'manifest.json' | 'index.json', body: Buffer, tag: string): Buffer {
  const parsed = JSON.parse(body.toString('utf8')) as unknown;
  if (name === 'manifest.json') {
    for (const entry of parsed as ImageManifestEntry[]) entry.RepoTags = [tag];
  } else {
    const manifests = (parsed as { manifests?: Array<{ annotations?: Record<string, string> }> }).manifests ?? [];
    for (const m of manifests) for (const key of NAME_ANNOTATIONS) delete m.annotations?.[key];
  }
  return Buffer.from(JSON.stringify(parsed));
}
