// Qwen3 tokenization through Hugging Face's Rust `tokenizers` (the @anush008/tokenizers binding): the same code
// transformers' fast tokenizer runs, so ids match Python exactly. Token ids, not strings, go to the native core.
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer } from '@anush008/tokenizers';
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
  return { tokenizerJson: path.join(dir, 'tokenizer.json'), tokenizerConfigJson: path.join(dir, 'tokenizer_config.json') };
}

export class Qwen3Tokenizer {
  /** absolute path of the tokenizer.json this tokenizer was read from */
  readonly file: string;
  /** number of ids, added tokens included (151,669 for Qwen3) */
  readonly vocabSize: number;
  private readonly inner: Tokenizer;

  private constructor(inner: Tokenizer, file: string) {
    this.inner = inner;
    this.file = file;
    this.vocabSize = inner.getVocabSize(true);
  }

  /** Reads a Hugging Face tokenizer.json. */
  static fromFile(tokenizerJsonPath: string): Qwen3Tokenizer {
    expectNonEmptyString(tokenizerJsonPath, 'tokenizerJsonPath');
    const file = path.resolve(tokenizerJsonPath);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new Error(`Tokenizer file not found: ${file} (expected a Hugging Face tokenizer.json)`);
    }
    if (!stat.isFile()) throw new Error(`Tokenizer path is not a file: ${file} (expected a Hugging Face tokenizer.json)`);
    let inner: Tokenizer;
    try {
      inner = Tokenizer.fromFile(file);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`Could not read tokenizer file ${file}: ${reason}`);
    }
    return new Qwen3Tokenizer(inner, file);
  }

  /** Reads `tokenizer.json` from a model directory (as downloaded from the Hugging Face Hub). */
  static fromDir(dir: string): Qwen3Tokenizer {
    expectNonEmptyString(dir, 'dir');
    return Qwen3Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  }

  /** The tokenizer bundled with the package (no model directory needed). */
  static bundled(): Qwen3Tokenizer {
    return Qwen3Tokenizer.fromFile(qwen3TokenizerFiles().tokenizerJson);
  }

  /**
   * Token ids of `text`. No special tokens are added: Qwen3's post-processor is plain ByteLevel, and the callers
   * that need <|endoftext|> or a chat template add those ids themselves.
   */
  async encode(text: string): Promise<number[]> {
    expectString(text, 'text');
    const encoding = await this.inner.encode(text, null, { addSpecialTokens: false });
    return encoding.getIds();
  }

  /** Token ids of each text; runs in parallel on the Rust side. */
  async encodeBatch(texts: string[]): Promise<number[][]> {
    expectStringArray(texts, 'texts');
    if (texts.length === 0) return [];
    const encodings = await this.inner.encodeBatch(texts, { addSpecialTokens: false });
    return encodings.map((encoding) => encoding.getIds());
  }

  async decode(ids: number[], options?: DecodeOptions): Promise<string> {
    this.expectIds(ids, 'ids');
    const { skipSpecialTokens = false } = expectOptionalOptions(options);
    expectKnownKeys(options ?? {}, 'options', ['skipSpecialTokens']);
    expectBoolean(skipSpecialTokens, 'options.skipSpecialTokens');
    return this.inner.decode(ids, skipSpecialTokens);
  }

  async decodeBatch(idLists: number[][], options?: DecodeOptions): Promise<string[]> {
    expectArray(idLists, 'idLists');
    idLists.forEach((ids, index) => this.expectIds(ids, `idLists[${index}]`));
    const { skipSpecialTokens = false } = expectOptionalOptions(options);
    expectKnownKeys(options ?? {}, 'options', ['skipSpecialTokens']);
    expectBoolean(skipSpecialTokens, 'options.skipSpecialTokens');
    if (idLists.length === 0) return [];
    return this.inner.decodeBatch(idLists, skipSpecialTokens);
  }

  /**
   * Id of one token, or undefined when it is not a single token. Accepts both the vocabulary's byte-level form
   * ("æŃ£éĿ¢") and plain text ("正面"), since Qwen3's vocabulary stores every non-special token byte-level encoded.
   */
  tokenToId(token: string): number | undefined {
    expectString(token, 'token');
    const direct = this.inner.tokenToId(token);
    if (direct !== null && direct !== undefined) return direct;
    const byteLevel = this.inner.tokenToId(toByteLevel(token));
    return byteLevel === null || byteLevel === undefined ? undefined : byteLevel;
  }

  /** The vocabulary entry of an id (byte-level form for ordinary tokens), or undefined when out of range. */
  idToToken(id: number): string | undefined {
    const token = this.inner.idToToken(id);
    return token === null || token === undefined ? undefined : token;
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

// GPT-2's reversible byte -> printable character table, used by Qwen3's ByteLevel vocabulary.
const BYTE_TO_CHAR: string[] = (() => {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCharCode(printable ? byte : 256 + extra++);
  }
  return table;
})();

function toByteLevel(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += BYTE_TO_CHAR[byte];
  return out;
}
