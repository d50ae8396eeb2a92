// Qwen3 tokenization through Hugging Face's tokenizers (@huggingface/tokenizers, their JavaScript port): the same ids
// as transformers' fast tokenizer (bench/tokenizer-parity.js, test/referees/). Token ids, not strings, go to the
// native core. The tokenizers themselves live on a worker thread (tokenizer-worker.ts); this class is their JS-thread
// face.
import * as fs from 'fs';
import * as path from 'path';
import { fileKind } from '../util/regular-file';
import { tokenizerThread, type TokenizerHandle } from './tokenizer-thread';
import {
  expectNonEmptyString,
  expectString,
  expectStringArray,
  expectArray,
  expectOptionalOptions,
  expectKnownKeys,
  expectBoolean,
  invalidRangeError,
  invalidTypeError,
} from '../util/is';
import { PACKAGE_ROOT } from '../util/paths';
import { toNested, type TokenSequences } from './sequences';

export interface DecodeOptions {
  /** drop <|endoftext|>, <|im_start|>, … from the text (default false) */
  skipSpecialTokens?: boolean;
}

export interface Qwen3TokenizerFiles {
  tokenizerJson: string;
  tokenizerConfigJson: string;
}

/** The real Qwen3 tokenizer files shipped in assets/qwen3-tokenizer (all Qwen3 sizes share one tokenizer). */
export function qwen3TokenizerFiles(): Qwen3TokenizerFiles {
  const dir = path.join(PACKAGE_ROOT, 'assets', 'qwen3-tokenizer');
  return {
    tokenizerJson: path.join(dir, 'tokenizer.json'),
    tokenizerConfigJson: path.join(dir, 'tokenizer_config.json'),
  };
}

/** Opened tokenizers by file identity: every Qwen3 model folder ships the same tokenizer.json, read once per process. */
const opened = new Map<string, Promise<TokenizerHandle>>();

function notFound(file: string): Error {
  return new Error(`Tokenizer file not found: ${file} (expected a Hugging Face tokenizer.json)`);
}

export class Qwen3Tokenizer {
  /** absolute path of the tokenizer.json this tokenizer was read from */
  readonly file: string;
  /** number of ids, added tokens included (151,669 for Qwen3) */
  readonly vocabSize: number;
  private opening: Promise<TokenizerHandle>;

  private constructor(file: string, handle: TokenizerHandle, opening: Promise<TokenizerHandle>) {
    this.file = file;
    this.vocabSize = handle.vocabSize;
    this.opening = opening;
  }

  /**
   * Reads a Hugging Face tokenizer.json (a regular file). The tokenizer lives on a worker thread (tokenizer-thread.ts):
   * reading Qwen3's blocks for 1-2.5 s, which must not happen on the event loop.
   */
  static async fromFile(tokenizerJsonPath: string): Promise<Qwen3Tokenizer> {
    expectNonEmptyString(tokenizerJsonPath, 'tokenizerJsonPath');
    const file = path.resolve(tokenizerJsonPath);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      throw notFound(file);
    }
    if (!stat.isFile()) {
      throw new Error(
        `Tokenizer path is not a file: ${file} is ${fileKind(stat)} (expected a Hugging Face tokenizer.json)`
      );
    }
    const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    let opening = opened.get(key);
    if (!opening) {
      opening = Qwen3Tokenizer.open(file);
      opened.set(key, opening);
      opening.catch(() => opened.delete(key));
    }
    return new Qwen3Tokenizer(file, await opening, opening);
  }

  /** Reads `tokenizer.json` from a model directory (as downloaded from the Hugging Face Hub). */
  static fromDir(dir: string): Promise<Qwen3Tokenizer> {
    expectNonEmptyString(dir, 'dir');
    return Qwen3Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  }

  /** The tokenizer bundled with the package (no model directory needed). */
  static bundled(): Promise<Qwen3Tokenizer> {
    return Qwen3Tokenizer.fromFile(qwen3TokenizerFiles().tokenizerJson);
  }

  private static async open(file: string): Promise<TokenizerHandle> {
    try {
      const reply = await tokenizerThread.request<{ id: number; handle: number; vocabSize: number }>({
        op: 'open',
        file,
      });
      return { handle: reply.handle, vocabSize: reply.vocabSize, generation: reply.generation };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (/ENOENT/.test(reason)) throw notFound(file);
      throw new Error(`Could not read tokenizer file ${file}: ${reason}`);
    }
  }

  /** The tokenizer on the thread, opened again if the thread had to restart. */
  private async handle(): Promise<number> {
    const current = await this.opening;
    if (current.generation === tokenizerThread.generation) return current.handle;
    this.opening = Qwen3Tokenizer.open(this.file);
    return (await this.opening).handle;
  }

  /**
   * Token ids of `text`. No special tokens are added: Qwen3's post-processor is plain ByteLevel, and the callers
   * that need <|endoftext|> or a chat template add those ids themselves.
   */
  async encode(text: string): Promise<number[]> {
    expectString(text, 'text');
    return Array.from((await this.encodeAll([text])).ids);
  }

  /** Token ids of each text; runs in parallel on the Rust side. */
  async encodeBatch(texts: string[]): Promise<number[][]> {
    expectStringArray(texts, 'texts');
    if (texts.length === 0) return [];
    // Chunks keep each reply's nesting on the JS thread short (a few ms for 1,024 posts).
    const chunks: Promise<number[][]>[] = [];
    for (let i = 0; i < texts.length; i += ENCODE_CHUNK)
      chunks.push(this.encodeAll(texts.slice(i, i + ENCODE_CHUNK)).then(toNested));
    return (await Promise.all(chunks)).flat();
  }

  /**
   * Token ids of each text, flat (sequences.ts): the buffers the tokenizer thread filled and transferred, with no
   * copy and nothing nested on the JS thread. The prediction path's form.
   */
  async encodeFlat(texts: readonly string[]): Promise<TokenSequences> {
    expectStringArray(texts, 'texts');
    if (texts.length === 0) return { ids: new Int32Array(0), lengths: new Int32Array(0) };
    return this.encodeAll(texts);
  }

  private async encodeAll(texts: readonly string[]): Promise<TokenSequences> {
    const handle = await this.handle();
    const { ids, lengths } = await tokenizerThread.request<{ id: number; ids: Int32Array; lengths: Int32Array }>({
      op: 'encode',
      handle,
      texts: texts as string[],
    });
    return { ids, lengths };
  }

  async decode(ids: number[], options?: DecodeOptions): Promise<string> {
    this.expectIds(ids, 'ids');
    const skipSpecialTokens = decodeOptions(options);
    return (await this.decodeAll([ids], skipSpecialTokens))[0];
  }

  async decodeBatch(idLists: number[][], options?: DecodeOptions): Promise<string[]> {
    expectArray(idLists, 'idLists');
    idLists.forEach((ids, index) => this.expectIds(ids, `idLists[${index}]`));
    const skipSpecialTokens = decodeOptions(options);
    if (idLists.length === 0) return [];
    return this.decodeAll(idLists, skipSpecialTokens);
  }

  private async decodeAll(idLists: number[][], skipSpecialTokens: boolean): Promise<string[]> {
    const handle = await this.handle();
    const reply = await tokenizerThread.request<{ id: number; texts: string[] }>({
      op: 'decode',
      handle,
      idLists,
      skipSpecialTokens,
    });
    return reply.texts;
  }

  /**
   * Id of one token, or undefined when it is not a single token. Accepts both the vocabulary's byte-level form
   * ("æŃ£éĿ¢") and plain text ("正面"), since Qwen3's vocabulary stores every non-special token byte-level encoded.
   */
  async tokenToId(token: string): Promise<number | undefined> {
    expectString(token, 'token');
    const handle = await this.handle();
    const { values } = await tokenizerThread.request<{ id: number; values: (number | null)[] }>({
      op: 'tokenToId',
      handle,
      tokens: [token, toByteLevel(token)],
    });
    return values[0] ?? values[1] ?? undefined;
  }

  /** The vocabulary entry of an id (byte-level form for ordinary tokens), or undefined when out of range. */
  async idToToken(id: number): Promise<string | undefined> {
    const handle = await this.handle();
    const { values } = await tokenizerThread.request<{ id: number; values: (string | null)[] }>({
      op: 'idToToken',
      handle,
      ids: [id],
    });
    return values[0] ?? undefined;
  }

  private expectIds(ids: unknown, name: string): asserts ids is number[] {
    expectArray(ids, name);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (typeof id !== 'number') throw invalidTypeError('token id (integer)', `${name}[${i}]`, id);
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw invalidRangeError(`token id between 0 and ${this.vocabSize - 1}`, `${name}[${i}]`, id);
      }
    }
  }
}

/** Texts per request to the tokenizer thread. */
const ENCODE_CHUNK = 1024;

function decodeOptions(options: DecodeOptions | undefined): boolean {
  const { skipSpecialTokens = false } = expectOptionalOptions(options);
  expectKnownKeys(options ?? {}, 'options', ['skipSpecialTokens']);
  expectBoolean(skipSpecialTokens, 'options.skipSpecialTokens');
  return skipSpecialTokens;
}

// GPT-2's reversible byte -> printable character table, used by Qwen3's ByteLevel vocabulary.
const BYTE_TO_CHAR: string[] = (() => {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCharCode(printable ? byte : 256 + extra++);
  }
  return table;
})();

function toByteLevel(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += BYTE_TO_CHAR[byte];
  return out;
}
