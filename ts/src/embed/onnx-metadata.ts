/**
 * Reads an ONNX file's custom metadata (`metadata_props`), which onnxruntime-node 1.30 does not
 * expose: the file is a protobuf `ModelProto`, so we walk its top-level fields and decode field 14
 * (`repeated StringStringEntryProto metadata_props`, key = 1, value = 2), skipping the graph
 * without decoding it. A JSON sidecar `<model>.json` next to the file can add or override keys,
 * for exports that cannot write metadata.
 */
import { readFile } from 'node:fs/promises';

const kMetadataProps = 14;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Thrown when the bytes are not a well-formed protobuf message. */
export class MalformedModelError extends Error {}

interface Cursor {
  bytes: Uint8Array;
  pos: number;
  end: number;
}

function readVarint(c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.end) throw new MalformedModelError('truncated varint');
    const byte = c.bytes[c.pos++]!;
    result += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new MalformedModelError('varint longer than 10 bytes');
}

/** Calls `visit(field, slice)` for every length-delimited field; skips the others. */
function walkFields(c: Cursor, visit: (field: number, start: number, end: number) => void): void {
  while (c.pos < c.end) {
    const tag = readVarint(c);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new MalformedModelError('field number 0');
    switch (wire) {
      case 0:
        readVarint(c);
        break;
      case 1:
        c.pos += 8;
        break;
      case 5:
        c.pos += 4;
        break;
      case 2: {
        const length = readVarint(c);
        const start = c.pos;
        c.pos += length;
        if (c.pos > c.end) throw new MalformedModelError(`field ${field} runs past the end`);
        visit(field, start, c.pos);
        break;
      }
      default:
        throw new MalformedModelError(`unsupported wire type ${wire} in field ${field}`);
    }
    if (c.pos > c.end) throw new MalformedModelError('truncated field');
  }
}

/**
 * The `metadata_props` of a serialized ONNX model, as a key → value map.
 *
 * @throws MalformedModelError when the bytes are not a protobuf message
 */
export function readOnnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  const props: Record<string, string> = {};
  walkFields({ bytes, pos: 0, end: bytes.length }, (field, start, end) => {
    if (field !== kMetadataProps) return;
    let key = '';
    let value = '';
    walkFields({ bytes, pos: start, end }, (inner, s, e) => {
      const text = decodeText(bytes.subarray(s, e));
      if (inner === 1) key = text;
      else if (inner === 2) value = text;
    });
    props[key] = value;
  });
  return props;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new MalformedModelError('metadata is not UTF-8');
  }
}

/** The sidecar path of a model file: `models/x.onnx` → `models/x.json`. */
export function sidecarPath(modelPath: string): string {
  return modelPath.endsWith('.onnx') ? `${modelPath.slice(0, -'.onnx'.length)}.json` : `${modelPath}.json`;
}

/**
 * Metadata of the model at `path`: its `metadata_props`, then the sidecar's keys (which win).
 * Sidecar values that are not strings are stored as JSON text, like the ONNX values.
 *
 * @throws Error from the file system (missing file), MalformedModelError, or SyntaxError (bad sidecar)
 */
export async function loadModelMetadata(path: string): Promise<Record<string, string>> {
  const props = readOnnxMetadataProps(await readFile(path));
  let sidecar: string | undefined;
  try {
    sidecar = await readFile(sidecarPath(path), 'utf8');
  } catch {
    return props;
  }
  const parsed: unknown = JSON.parse(sidecar);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SyntaxError(`${sidecarPath(path)} must hold a JSON object of metadata keys`);
  }
  for (const [key, value] of Object.entries(parsed)) props[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return props;
}

/** Parses the JSON value of metadata `key`, or undefined when absent or not JSON. */
export function metadataJson(metadata: Readonly<Record<string, string>>, key: string): unknown {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
