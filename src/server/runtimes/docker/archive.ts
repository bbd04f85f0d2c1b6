/** Validation of uploaded Docker image archives (`docker save` format) before they reach the engine. */
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { invalidArtifact } from '../../host/errors.js';

export interface ImageManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/** Reads a `docker save` archive's manifest.json; 422 when the body is not such a tar. */
export async function readImageManifest(archive: Buffer): Promise<ImageManifestEntry[]> {
  // A tar's header checksum field makes garbage fail fast; tar-stream rejects it as "Invalid tar header".
  const ex = extract();
  let manifest: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (header.name === 'manifest.json') chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (header.name === 'manifest.json') manifest = Buffer.concat(chunks);
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([archive]).pipe(ex);
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
